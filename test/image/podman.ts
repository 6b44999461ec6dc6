/**
 * The image tests' podman: whether they can run here (podman, root, the images built by
 * `npm run image:local`, a container that starts), and a session that names every object it
 * creates uniquely (pid + random) and removes them all at the end (and at process exit).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { VERSION } from '../../src/version.js';

export const EBB_IMAGE = `localhost/ebb:${VERSION}`;
export const INIT_IMAGE = `localhost/ebb-init:${VERSION}`;

let reason: string | false | undefined;
/** Why the image tests cannot run here (the skip line), or false when they can. */
export function podmanUnusable(): string | false {
  if (reason !== undefined) return reason;
  const v = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return (reason = 'podman is not installed (.ci/run installs it; see docs/image.md)');
  if (process.getuid?.() !== 0) return (reason = 'the image tests run podman as root (pods, network namespaces, iptables)');
  for (const image of [EBB_IMAGE, INIT_IMAGE]) {
    if (spawnSync('podman', ['image', 'exists', image]).status !== 0) return (reason = `${image} is not built: run \`npm run image:local\` (docs/image.md)`);
  }
  const r = spawnSync('podman', ['run', '--rm', '--network', 'none', EBB_IMAGE, '--version'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return (reason = `podman cannot start a container here: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)} (docs/image.md: containers.conf)`);
  return (reason = false);
}

export interface Result { code: number | null; stdout: string; stderr: string }

export function podman(args: string[], timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('podman', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export async function must(args: string[], timeoutMs?: number): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** Every pod and container a session made, for the exit handler. */
const live = new Set<Session>();
process.once('exit', () => { for (const s of live) s.removeAllSync(); });

/**
 * Image tests that make pods run one at a time on a machine (test files run two at once, and other
 * checkouts' tests too): with two pods being set up and torn down side by side, connections from the
 * host to an already running pod were seen to hang. A lock file holding the owner's pid; a dead
 * owner's lock is taken over. Bounded: 10 minutes.
 */
const LOCK = '/run/ebb-image-tests.lock';
let locked = false;
async function lockPods(): Promise<void> {
  if (locked) return;
  for (let i = 0; i < 1200; i++) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      locked = true;
      process.once('exit', unlockPods);
      return;
    } catch {
      let owner: number;
      try { owner = Number(readFileSync(LOCK, 'utf8')); } catch { continue; }
      let alive = false;
      try { process.kill(owner, 0); alive = true; } catch { /* gone */ }
      if (!alive && Number.isInteger(owner)) { rmSync(LOCK, { force: true }); continue; }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`${LOCK} held for 10 minutes by pid ${readFileSync(LOCK, 'utf8')}`);
}
/** Runs `fn` holding the pod lock (for a test whose pods another process makes, e.g. ebb lab). */
export async function withPodLock<T>(fn: () => Promise<T>): Promise<T> {
  await lockPods();
  try { return await fn(); } finally { unlockPods(); }
}
function unlockPods(): void {
  if (!locked) return;
  locked = false;
  try { if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK, { force: true }); } catch { /* gone */ }
}

export class Session {
  readonly prefix = `ebb-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly pods: string[] = [];
  private readonly containers: string[] = [];
  private n = 0;

  constructor() { live.add(this); }

  name(what: string): string { return `${this.prefix}-${what}-${++this.n}`; }

  async pod(share: string): Promise<{ name: string; ip: string }> {
    await lockPods();
    const name = this.name('pod');
    this.pods.push(name);
    await must(['pod', 'create', '--name', name, '--share', share]);
    const infra = await must(['pod', 'inspect', name, '--format', '{{.InfraContainerID}}']);
    await must(['pod', 'start', name]);
    const ip = await must(['inspect', infra, '--format', '{{.NetworkSettings.IPAddress}}']);
    return { name, ip };
  }

  /** podman run -d --name <unique> ...args; returns the name. */
  async run(what: string, args: string[]): Promise<string> {
    const name = this.name(what);
    this.containers.push(name);
    await must(['run', '-d', '--name', name, ...args]);
    return name;
  }

  async remove(): Promise<void> {
    if (this.containers.length) await podman(['rm', '-f', '-t', '0', ...this.containers]);
    for (const p of this.pods) await podman(['pod', 'rm', '-f', '-t', '0', p]);
    live.delete(this);
    unlockPods();
  }

  removeAllSync(): void {
    if (this.containers.length) spawnSync('podman', ['rm', '-f', '-t', '0', ...this.containers]);
    for (const p of this.pods) spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', p]);
  }
}

/** Polls until `probe` resolves true (bounded: count and time). */
export async function until(what: string, probe: () => Promise<boolean>, tries = 100, everyMs = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function get(url: string, timeoutMs = 10_000): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', reject);
  });
}

/** A small HTTP app for the ebb image's node: logs "got <url>", answers after ?ms= milliseconds. */
export function appArgs(port = 8080): string[] {
  const code = `require('http').createServer((q,s)=>{console.log('got '+q.url);const ms=Number(new URL(q.url,'http://x').searchParams.get('ms')||0);` +
    `setTimeout(()=>s.end('app '+q.url),ms)}).listen(${port});process.on('SIGTERM',()=>process.exit(0))`;
  return ['--entrypoint', '/nodejs/bin/node', EBB_IMAGE, '-e', code];
}

/** Resolves once the container's logs contain `text` (bounded). */
export function logged(container: string, text: string | RegExp, tries = 200): Promise<void> {
  return until(`${container} to log ${String(text)}`, async () => {
    const r = await podman(['logs', container]);
    const all = r.stdout + r.stderr;
    return typeof text === 'string' ? all.includes(text) : text.test(all);
  }, tries);
}

/** The container's stdout and stderr, as one text. */
export async function logsOf(container: string): Promise<string> {
  const r = await podman(['logs', container]);
  return r.stdout + r.stderr;
}
