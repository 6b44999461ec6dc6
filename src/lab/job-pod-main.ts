/**
 * One Job pod, run as PID 1 of its own PID namespace when the lab can make one (that is the pod's
 * pause process and shared process namespace), and doing what the kubelet does for a Job's pod:
 *  - native: start the proxy (init container, restartPolicy Always), wait for its startupProbe
 *    (/ready), start the app; when the app has exited, TERM the proxy (KILL at the grace period).
 *  - classic: start the proxy (first container), run its postStart hook and wait for it, start the
 *    app; the pod completes only when every container has exited, so wait for the proxy to leave
 *    on its own, up to a limit, and report that the pod did not complete otherwise.
 * Every step is one JSON line on stdout with t = ms since the app started.
 *
 * argv[2]: JSON JobPodPlan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';

export interface JobPodPlan {
  mode: 'native' | 'classic';
  proxy: { argv: string[]; env: Record<string, string> };
  postStart?: string[];
  app: { argv: string[]; env: Record<string, string> };
  adminPort: number;
  graceMs: number;
  /** classic: how long to wait for the proxy after the app has exited before declaring the pod stuck. */
  completeWaitMs: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as JobPodPlan;
let appStartedAt: number | undefined;
const t = (): number | null => (appStartedAt === undefined ? null : Math.round(performance.now() - appStartedAt));
const emit = (ev: string, extra: Record<string, unknown> = {}): void => { process.stdout.write(`${JSON.stringify({ ev, t: t(), ...extra })}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('EBB_')) delete env[k];
  return env;
}

const children: ChildProcess[] = [];
function start(name: string, argv: string[], env: Record<string, string>, forward: (line: string) => boolean): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  for (const s of [child.stdout!, child.stderr!]) {
    createInterface({ input: s }).on('line', (line) => { if (forward(line)) emit('log', { from: name, line }); });
  }
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (e) => { emit('log', { from: name, line: String(e) }); resolve({ code: 127, signal: null }); });
  });
  return { child, exited };
}

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ready', agent: false, timeout: 1000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p, new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), ms); })]);
  clearTimeout(timer);
  return r;
}

const interestingProxyLine = (line: string): boolean => /"msg":"(app seen|app exited|shutdown started|shutdown complete|watching for the app to exit[^"]*)"/.test(line) || /"level":(40|50|60)/.test(line);

try {
  const proxy = start('proxy', plan.proxy.argv, plan.proxy.env, interestingProxyLine);
  emit('proxy-start', { pid: proxy.child.pid });
  if (plan.mode === 'native') {
    // The startupProbe: the kubelet starts the app only once the native sidecar is ready.
    let ok = false;
    for (let i = 0; i < 200 && !ok; i++) { ok = await ready(plan.adminPort); if (!ok) await sleep(100); }
    emit('proxy-ready', { ok });
  } else if (plan.postStart) {
    const hook = start('postStart', plan.postStart, {}, () => true);
    const r = await within(hook.exited, 60_000);
    emit('postStart-done', { result: r });
  }
  appStartedAt = performance.now();
  const app = start('app', plan.app.argv, plan.app.env, (line) => line.startsWith('{'));
  emit('app-start', { pid: app.child.pid });
  const appExit = await app.exited;
  emit('app-exit', appExit);

  let proxyExit: { code: number | null; signal: string | null } | 'timeout';
  if (plan.mode === 'native') {
    proxy.child.kill('SIGTERM');
    emit('proxy-term');
    proxyExit = await within(proxy.exited, plan.graceMs);
    if (proxyExit === 'timeout') { proxy.child.kill('SIGKILL'); emit('proxy-kill'); proxyExit = await proxy.exited; }
  } else {
    proxyExit = await within(proxy.exited, plan.completeWaitMs);
  }
  if (proxyExit === 'timeout') {
    emit('pod-not-complete', { waitedMs: plan.completeWaitMs });
    proxy.child.kill('SIGKILL');
    await proxy.exited;
  } else {
    emit('proxy-exit', proxyExit);
    emit('pod-complete', { succeeded: appExit.code === 0 && proxyExit.code === 0 });
  }
} catch (err) {
  emit('error', { message: (err as Error).message });
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  emit('done');
  // As PID 1 of its namespace, leaving takes any stray process with it.
  process.exit(0);
}
