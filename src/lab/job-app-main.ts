/**
 * The lab's Job app: a few seconds of work made of outbound HTTP calls (through its pod's proxy),
 * then exit 0. Prints one JSON line per call and a summary, so the lab can count what succeeded.
 *   node job-app-main.js --target http://127.0.0.1:PORT --calls N --spacing-ms MS
 */
import http from 'node:http';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const target = new URL(arg('target', 'http://127.0.0.1:1'));
const calls = Number(arg('calls', '10'));
const spacingMs = Number(arg('spacing-ms', '200'));
const t0 = performance.now();
const now = (): number => Math.round(performance.now() - t0);

function call(i: number): Promise<{ ok: boolean; status?: number; error?: string; start: number; end: number }> {
  const start = now();
  return new Promise((resolve) => {
    const req = http.get({ host: target.hostname, port: Number(target.port), path: `/work/${i}`, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, start, end: now() }));
      res.on('error', (e) => resolve({ ok: false, error: e.message, start, end: now() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.code ?? e.message, start, end: now() }));
  });
}

let ok = 0;
for (let i = 0; i < calls; i++) {
  const r = await call(i);
  if (r.ok) ok++;
  process.stdout.write(`${JSON.stringify({ msg: 'call', i, ...r })}\n`);
  if (i < calls - 1) await new Promise((res) => setTimeout(res, spacingMs));
}
process.stdout.write(`${JSON.stringify({ msg: 'done', calls, ok, failed: calls - ok })}\n`);
// The work is done: exit 0 (a Job's success), whatever the calls gave; the lab reports them.
process.exit(0);
