/**
 * Runs as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`), standing in for a
 * pod with `shareProcessNamespace: true`: it starts the watcher (the real proxy, or a bare watcher),
 * an `ebb sleep` like the proxy's preStop, short-lived probe-like execs, then the app, restarts the
 * app once, and ends it. Every step is printed as a JSON line so the test can check the order.
 *
 * argv[2]: JSON { watcher: string[], ebb: string, settleGapMs: number }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { watcher: string[]; ebb: string; appLifeAfterRestartMs: number };
const emit = (ev: string, extra: Record<string, unknown> = {}): void => { process.stdout.write(`${JSON.stringify({ ev, pid: process.pid, ...extra })}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

async function until(what: string, cond: () => boolean, limitMs = 60_000): Promise<void> {
  for (let waited = 0; !cond(); waited += 50) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const watcherLines: string[] = [];
const watcher = spawn(cfg.watcher[0]!, cfg.watcher.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
let watcherExit: number | null | undefined;
watcher.on('exit', (code) => { watcherExit = code; emit('watcher-exit', { code }); });
for (const stream of [watcher.stdout!, watcher.stderr!]) {
  createInterface({ input: stream }).on('line', (line) => { watcherLines.push(line); emit('watcher', { line }); });
}
const has = (re: RegExp): boolean => watcherLines.some((l) => re.test(l));

const children: ChildProcess[] = [watcher];
try {
  await until('the watcher to start', () => has(/"msg":"(listening|watching)"/) || watcherExit !== undefined);

  // The proxy's preStop `ebb sleep`, a sibling exec (not the proxy's child), lives on throughout.
  children.push(spawn(process.execPath, [cfg.ebb, 'sleep', '600'], { stdio: 'ignore' }));
  // Probe-like execs before the app exists.
  for (let i = 0; i < 8; i++) {
    await exited(spawn('sh', ['-c', 'true'], { stdio: 'ignore' }));
    await sleep(100);
  }
  emit('probes-done', { watcherRunning: watcherExit === undefined });

  const appCode = 'process.on("SIGUSR2", () => process.exit(0)); setInterval(() => {}, 1000);';
  const app1 = spawn(process.execPath, ['-e', appCode], { stdio: 'ignore' });
  children.push(app1);
  emit('app1-start');
  await until('the watcher to see the app', () => has(/app seen|"msg":"app-seen"/) || watcherExit !== undefined);
  emit('app1-seen', { watcherRunning: watcherExit === undefined });

  app1.kill('SIGUSR2');
  await exited(app1);
  emit('app1-end', { watcherRunning: watcherExit === undefined });
  // The container "restarts" at once; the new process must keep the watcher from finishing.
  const app2 = spawn(process.execPath, ['-e', appCode], { stdio: 'ignore' });
  children.push(app2);
  emit('app2-start');
  await sleep(cfg.appLifeAfterRestartMs);
  emit('app2-ending', { watcherRunning: watcherExit === undefined });
  app2.kill('SIGUSR2');
  await exited(app2);
  emit('app2-end', { watcherRunning: watcherExit === undefined });

  await until('the watcher to exit', () => watcherExit !== undefined);
  emit('done', { sleepStillRunning: children[1]!.exitCode === null && children[1]!.signalCode === null });
} catch (err) {
  emit('error', { message: (err as Error).message });
} finally {
  for (const c of children) c.kill('SIGKILL');
  // PID 1 leaving takes the whole namespace with it.
  process.exit(0);
}
