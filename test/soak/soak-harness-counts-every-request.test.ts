import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The soak harness itself (npm run soak), run for a few seconds: every well-behaved request it sends
// is accounted for as ok or lost, each kind of client ran, the proxy's curves were sampled and its
// shutdown summary read. Counts only; the soak's timing and memory are for `npm run soak`, not tests.
const RUN = fileURLToPath(new URL('../../bench/soak/run.js', import.meta.url));

test('a short soak accounts for every well-behaved request, reads the drain summary, and the drain ends idle', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-soak-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'soak.json');
  const child = spawn(process.execPath, [RUN, '--minutes', '0.1', '--rate', '15', '--careless-rate', '2', '--drain-timeout', '20', '--quiet', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { log += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { log += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  t.after(() => { clearTimeout(timer); child.kill('SIGKILL'); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.ok(code === 0 || code === 1, `the soak ran to its report (exit ${code}):\n${log}`);

  const r = JSON.parse(readFileSync(out, 'utf8')) as {
    sent: number; lost: number; notSent: number;
    good: Record<string, { sent: number; ok: number; lost: number }>;
    careless: Record<string, { launched: number; started: number; skipped: number }>;
    samples: Array<{ rss: number; fds: number }>;
    summary: { msg: string; drainEndedBy: string } | null;
    exit: { code: number | null; killed: boolean };
  };
  const kinds = Object.keys(r.good);
  assert.deepEqual(kinds.sort(), ['grpc', 'h1-node', 'h1-undici', 'h2', 'tcp']);
  for (const k of kinds) {
    const g = r.good[k]!;
    assert.ok(g.sent > 0, `${k} sent requests`);
    assert.equal(g.ok + g.lost, g.sent, `${k}: every request is ok or lost`);
  }
  assert.equal(r.sent, kinds.reduce((a, k) => a + r.good[k]!.sent, 0));
  assert.equal(r.notSent, 0);
  assert.equal(r.lost, 0, `no well-behaved request lost:\n${log}`);
  // Launched, or skipped at the cap: a never-reads client only reports after 5 s, which a short
  // soak may not wait for (a drain that ends sooner is not a fault).
  for (const [k, c] of Object.entries(r.careless)) assert.ok(c.launched + c.skipped > 0, `careless ${k} ran: ${JSON.stringify(c)}`);
  assert.ok(r.samples.length > 0 && r.samples.every((s) => s.rss > 0 && s.fds > 0), 'RSS and fds sampled');
  assert.equal(r.summary?.msg, 'shutdown complete', 'the proxy\'s summary line was read');
  assert.equal(r.exit.killed, false);
  assert.equal(r.exit.code, 0);
  // Every careless client still open at the TERM (slowloris, a response never read) is the
  // proxy's to end: the drain ends when nothing is in flight, not at its deadline.
  assert.equal(r.summary.drainEndedBy, 'idle', `the drain ended idle:\n${log}`);
  assert.equal(code, 0, `the soak passed:\n${log}`);
});
