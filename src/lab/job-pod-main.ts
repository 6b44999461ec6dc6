/**
 * One Job pod, run as PID 1 of its own PID namespace when the lab can make one (that is the pod's
 * pause process and shared process namespace), and doing what the kubelet does for a Job's pod:
 *  - native: start the proxy (init container, restartPolicy Always), wait for its startupProbe
 *    (/ready), start the app; once the kubelet has seen the app's exit (its next PLEG relist,
 *    pleg.ts), TERM the proxy, KILL it when the grace is up (the pod's terminationGracePeriodSeconds
 *    or the deletion's override, at least 2 s: killContainer's minimumGracePeriodInSeconds).
 *  - classic: start the proxy (first container), run its postStart hook and wait for it, start the
 *    app; the pod completes only when every container has exited, so wait for the proxy to leave
 *    on its own, up to a limit, and report that the pod did not complete otherwise; the kubelet
 *    sees that last exit at its next relist.
 * The pod's phase is the kubelet's (pod-phase.ts): a native sidecar's exit code never counts, a
 * classic sidecar's does.
 * Every step is one JSON line on stdout with t = ms since the app started.
 *
 * argv[2]: JSON JobPodPlan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { Pleg } from './pleg.js';
import { hookGet } from './pod.js';
import { stopGrace, wholeSeconds } from '../inject/termination.js';
import { containerExitCode, podPhase, type Exit } from './pod-phase.js';

export interface JobPodPlan {
  mode: 'native' | 'classic';
  proxy: { argv: string[]; env: Record<string, string> };
  postStart?: string[];
  app: { argv: string[]; env: Record<string, string> };
  adminPort: number;
  /** The native sidecar's grace: the pod's terminationGracePeriodSeconds (or the override), in ms. */
  graceMs: number;
  /** The native sidecar's httpGet preStop (on 127.0.0.1), which the kubelet runs before its TERM. */
  proxyPreStop?: { port: number; path: string };
  /** The kubelet's PLEG relist period (0: it sees every exit at once). */
  plegPeriodMs: number;
  /** classic: how long to wait for the proxy after the app has exited before declaring the pod stuck. */
  completeWaitMs: number;
}

const plan = JSON.parse(process.argv[2] ?? '{}') as JobPodPlan;
// The kubelet's relists, from when it started the pod.
const pleg = new Pleg(plan.plegPeriodMs ?? 0);
let appStartedAt: number | undefined;
const t = (): number | null => (appStartedAt === undefined ? null : Math.round(performance.now() - appStartedAt));
/** A clock.now() time as ms since the app started. */
const rel = (at: number): number => Math.round(at - (appStartedAt ?? at));
/** The modelled delay and which relist saw the exit (k: seenAt = origin + k·period), unrounded. */
const plegFacts = (s: { exitAt: number; seenAt: number }): Record<string, number> => ({
  plegPeriodMs: pleg.periodMs, delayMs: s.seenAt - s.exitAt, ...(pleg.periodMs > 0 ? { relist: (s.seenAt - pleg.origin) / pleg.periodMs } : {}),
});

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
  const appSeen = pleg.seen(app.exited);
  const appExit = await app.exited;
  emit('app-exit', { ...appExit, exitCode: containerExitCode(appExit) });

  let proxyExit: Exit | 'timeout';
  if (plan.mode === 'native') {
    // The kubelet stops the sidecars once it has seen the last regular container exit.
    const seen = await appSeen;
    emit('app-exit-seen', { exitAt: rel(seen.exitAt), seenAt: rel(seen.seenAt), ...plegFacts(seen) });
    // killContainer: the preStop first (at most the grace), the grace less its whole seconds, at least 2 s.
    let graceSeconds = plan.graceMs / 1000;
    if (plan.proxyPreStop && graceSeconds > 0) {
      const started = performance.now();
      emit('proxy-prestop', plan.proxyPreStop);
      const signal = AbortSignal.timeout(plan.graceMs);
      const r = await hookGet({ host: '127.0.0.1', port: plan.proxyPreStop.port, path: plan.proxyPreStop.path, agent: false, signal });
      const tookMs = performance.now() - started;
      emit('proxy-prestop-done', { detail: signal.aborted ? `still running after ${graceSeconds}s` : r.detail, tookMs });
      graceSeconds -= wholeSeconds(tookMs / 1000);
    }
    const graceMs = stopGrace(graceSeconds) * 1000;
    proxy.child.kill('SIGTERM');
    emit('proxy-term', { graceMs });
    proxyExit = await within(proxy.exited, graceMs);
    if (proxyExit === 'timeout') { proxy.child.kill('SIGKILL'); emit('proxy-kill'); proxyExit = await proxy.exited; }
  } else {
    proxyExit = await within(proxy.exited, plan.completeWaitMs);
  }
  if (proxyExit === 'timeout') {
    emit('pod-not-complete', { waitedMs: plan.completeWaitMs });
    proxy.child.kill('SIGKILL');
    await proxy.exited;
  } else {
    emit('proxy-exit', { ...proxyExit, exitCode: containerExitCode(proxyExit) });
    if (plan.mode === 'classic') {
      // The proxy left on its own: the kubelet sees that at its next relist.
      const seen = await pleg.seen(Promise.resolve());
      emit('proxy-exit-seen', { exitAt: rel(seen.exitAt), seenAt: rel(seen.seenAt), ...plegFacts(seen) });
    }
    const phase = podPhase(plan.mode, appExit, proxyExit);
    emit('pod-complete', { phase, succeeded: phase === 'Succeeded' });
  }
} catch (err) {
  emit('error', { message: (err as Error).message });
} finally {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  emit('done');
  // As PID 1 of its namespace, leaving takes any stray process with it.
  process.exit(0);
}
