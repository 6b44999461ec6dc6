/**
 * The lab's `job` scenario: does an injected Job's pod complete, and when? An app does a few
 * seconds of work made of outbound calls through its pod's proxy, then exits 0. The same Job
 * manifest is injected in each setup and its pod run with real processes:
 *   native         --mode native (Kubernetes TERMs the native sidecar once the app has exited)
 *   classic-watch  --mode classic, --job-exit watch (shared PID namespace, --exit-when-app-exits)
 *   classic-await  --mode classic, --job-exit await (the app runs under `ebb await --shutdown --`)
 *   classic-none   --mode classic, --job-exit none (the problem: the proxy never leaves)
 * The pod runs as its own PID namespace (unshare, root) when it can; classic-watch needs that.
 * With `transparent` (ebb lab --transparent) the Job is injected with --transparent true and its pod
 * gets a network namespace of its own: ebb-init's rules, the proxy as its uid, and the app calling
 * the target by address through the outbound listener. Otherwise a forwarding listener on the proxy
 * stands in for transparent outbound.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { injectObject, resolveInjectConfig } from '../inject/index.js';
import type { JobPodPlan } from './job-pod-main.js';
import { PodNetwork } from './netns.js';
import { EBB_BIN, freePort, runInitContainer } from './pod.js';
import { renderTextTable, type LabTable } from './report.js';
import { DEFAULT_PLEG_PERIOD_SECONDS } from './pleg.js';
import { DEFAULT_GRACE_SECONDS, resolveContainerPort } from './kubelet.js';

const JOB_APP = fileURLToPath(new URL('./job-app-main.js', import.meta.url));
const JOB_POD = fileURLToPath(new URL('./job-pod-main.js', import.meta.url));

export type JobSetup = 'native' | 'classic-watch' | 'classic-await' | 'classic-none';
export const JOB_SETUPS: readonly JobSetup[] = ['native', 'classic-watch', 'classic-await', 'classic-none'];

export interface JobCall { i: number; ok: boolean; status?: number; error?: string; start: number; end: number }

export interface JobSetupResult {
  setup: JobSetup;
  /** Why it did not run (e.g. no PID namespace without root). */
  skipped?: string;
  completed: boolean;
  /** Seconds from the app's start. */
  appExitSeconds: number | null;
  appExitCode: number | null;
  proxyExitSeconds: number | null;
  proxyExitCode: number | null;
  completedSeconds: number | null;
  /** The pod's phase as the kubelet sets it (pod-phase.ts): regular containers' exit codes only. */
  phase?: 'Succeeded' | 'Failed' | null;
  /** The native sidecar's stop grace (s): the pod's terminationGracePeriodSeconds, or --grace-period. */
  graceSeconds?: number;
  /** When the kubelet saw the exit it reacts to (native: the app's, classic: the proxy's), at its PLEG relist (s). */
  exitSeenSeconds?: number | null;
  /** Native: the grace the proxy got with its TERM (s), as the pod runner used it. */
  stopGraceSeconds?: number;
  /** classic-none: how long the lab waited after the app before giving up. */
  waitedSeconds?: number;
  calls: { total: number; ok: number; failed: number };
  /** Calls the target actually received. */
  targetReceived: number;
  callRecords: JobCall[];
  proxyLines: string[];
  pidNamespace: boolean;
  notes: string[];
}

export interface JobOptions {
  calls: number;
  spacingMs: number;
  /** How long a classic pod may take to complete after its app exited before it counts as stuck. */
  completeWaitMs: number;
  /** Hard stop for one setup. */
  limitMs: number;
  /** The pod in a network namespace of its own behind ebb init's rules (needs root). */
  transparent?: boolean;
  /** The Job's own terminationGracePeriodSeconds (unset: Kubernetes' 30). */
  terminationGracePeriodSeconds?: number;
  /** `--grace-period S`: the deletion's override of terminationGracePeriodSeconds. */
  gracePeriod?: number;
  /** The kubelet's PLEG relist period in seconds (`--pleg-period`; 0: it sees every exit at once). */
  plegPeriod?: number;
}

export const DEFAULT_JOB_OPTIONS: JobOptions = { calls: 15, spacingMs: 200, completeWaitMs: 15_000, limitMs: 90_000, plegPeriod: DEFAULT_PLEG_PERIOD_SECONDS };

let unshareWorks: boolean | undefined;
export function canMakePidNamespace(): boolean {
  unshareWorks ??= process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { timeout: 10_000 }).status === 0;
  return unshareWorks;
}

/** The Job as a user would write it; the lab's app stands in for the work. */
export function jobManifest(targetUrl: string, o: JobOptions): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'lab-job' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          ...(o.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds }),
          containers: [{
            name: 'work', image: 'example/work:1',
            command: [process.execPath, JOB_APP, '--target', targetUrl, '--calls', String(o.calls), '--spacing-ms', String(o.spacingMs)],
          }],
        },
      },
    },
  };
}

type Container = {
  name: string; command?: string[]; args?: string[]; env?: Array<{ name: string; value?: string }>;
  lifecycle?: { postStart?: { exec?: { command?: string[] } }; preStop?: { httpGet?: { path?: string; port?: number | string; host?: string } } };
  securityContext?: { runAsUser?: number };
};

/** `ebb …` in a manifest means this ebb. */
const resolveEbb = (argv: string[]): string[] => (argv[0] === 'ebb' ? [process.execPath, EBB_BIN, ...argv.slice(1)] : argv);

export async function runJobSetup(setup: JobSetup, o: JobOptions = DEFAULT_JOB_OPTIONS): Promise<JobSetupResult> {
  const result: JobSetupResult = {
    setup, completed: false, appExitSeconds: null, appExitCode: null, proxyExitSeconds: null, proxyExitCode: null,
    completedSeconds: null, phase: null, graceSeconds: o.gracePeriod ?? DEFAULT_GRACE_SECONDS, exitSeenSeconds: null, calls: { total: 0, ok: 0, failed: 0 }, targetReceived: 0, callRecords: [], proxyLines: [],
    pidNamespace: canMakePidNamespace(), notes: [],
  };
  if (setup === 'classic-watch' && !result.pidNamespace) {
    result.skipped = 'needs a PID namespace (shareProcessNamespace): run the lab as root with unshare(1) (util-linux)';
    return result;
  }
  // The pod's network namespace (transparent), and the service the Job calls: in the lab's
  // namespace, on the node side of the pod's veth pair, or on loopback.
  const network = o.transparent ? PodNetwork.create(`job-${setup}`) : undefined;
  const target = http.createServer((req, res) => { req.resume(); result.targetReceived++; res.end('done\n'); });
  try {
    const targetHost = network?.nodeAddress ?? '127.0.0.1';
    await new Promise<void>((r) => target.listen(0, targetHost, () => r()));
    const targetPort = (target.address() as net.AddressInfo).port;
    const [adminPort, egressPort] = network ? [4191, 0] : [await freePort(), await freePort()];
    const mode = setup === 'native' ? 'native' : 'classic';
    const jobExit = setup === 'classic-await' ? 'await' : setup === 'classic-none' ? 'none' : 'watch';
    const { config, problems } = resolveInjectConfig({ mode, 'job-exit': jobExit, 'admin-port': String(adminPort), transparent: network ? 'true' : 'false' });
    if (problems.length) throw new Error(`job scenario: bad inject settings: ${JSON.stringify(problems)}`);
    const targetUrl = network ? `http://${targetHost}:${targetPort}` : `http://127.0.0.1:${egressPort}`;
    const injected = injectObject(jobManifest(targetUrl, o), config);
    if (injected.report.status !== 'injected') throw new Error(`job scenario: inject said ${injected.report.status} (${injected.report.reason ?? ''})`);
    const spec = (injected.object as { spec: { template: { spec: { containers: Container[]; initContainers?: Container[]; terminationGracePeriodSeconds?: number } } } }).spec.template.spec;
    // The kubelet's grace for the sidecar: the manifest's, or the deletion's override.
    result.graceSeconds = o.gracePeriod ?? spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
    const proxyC = [...(spec.initContainers ?? []), ...spec.containers].find((c) => c.name === 'ebb-proxy')!;
    const appC = spec.containers.find((c) => c.name === 'work')!;
    const env: Record<string, string> = {};
    for (const e of proxyC.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    env.EBB_LOG_FORMAT = 'json';
    // A Job has no inbound port; its calls go out through the proxy. Without iptables (`ebb init`)
    // the lab gives the proxy a forwarding listener to the target in place of transparent outbound.
    if (!network) Object.assign(env, { EBB_INBOUND: `${egressPort}:${targetPort}`, EBB_INBOUND_HOST: '127.0.0.1' });
    else result.notes.push(`ebb-init: ${runInitContainer(network, (spec.initContainers ?? []) as Array<Record<string, unknown>>, `job ${setup}`, 20_000).trim().split('\n')[0]}`);
    // The native sidecar's own preStop (inject writes GET /prestop on its admin port): the kubelet runs it before the TERM.
    const hook = mode === 'native' ? proxyC.lifecycle?.preStop?.httpGet : undefined;
    const hookPort = hook ? resolveContainerPort(proxyC as unknown as Record<string, unknown>, hook.port ?? 80) : undefined;
    const proxyPreStop = hook && hookPort && 'port' in hookPort && !hook.host ? { port: hookPort.port, path: hook.path ?? '/' } : undefined;
    if (hook && !proxyPreStop) result.notes.push(`the proxy's httpGet preStop ${JSON.stringify(hook)} is not run by the lab's Job pod (a named port it lacks, or a host)`);
    // In its namespace the proxy runs as its container's uid, which ebb init's rules exempt.
    const uid = proxyC.securityContext?.runAsUser ?? 2102;
    const asProxyUser = network ? ['nsenter', `--setuid=${uid}`, `--setgid=${uid}`, '--'] : [];
    const plan: JobPodPlan = {
      mode,
      proxy: { argv: [...asProxyUser, ...resolveEbb(['ebb', ...(proxyC.args ?? ['proxy'])])], env },
      postStart: proxyC.lifecycle?.postStart?.exec?.command ? resolveEbb(proxyC.lifecycle.postStart.exec.command) : undefined,
      app: { argv: resolveEbb([...(appC.command ?? []), ...(appC.args ?? [])]), env: {} },
      adminPort,
      graceMs: (result.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000,
      ...(proxyPreStop ? { proxyPreStop } : {}),
      plegPeriodMs: (o.plegPeriod ?? DEFAULT_PLEG_PERIOD_SECONDS) * 1000,
      completeWaitMs: o.completeWaitMs,
    };
    const inPidNs = result.pidNamespace
      ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, JOB_POD, JSON.stringify(plan)]
      : [process.execPath, JOB_POD, JSON.stringify(plan)];
    const argv = network ? [...network.argv(inPidNs[0]!, inPidNs.slice(1)).flat()] : inPidNs;
    const events = await runPod(argv, o.limitMs);
    for (const e of events) {
      const secs = typeof e.t === 'number' ? e.t / 1000 : null;
      if (e.ev === 'app-exit') { result.appExitSeconds = secs; result.appExitCode = (e.exitCode as number | null) ?? null; }
      if (e.ev === 'proxy-exit') { result.proxyExitSeconds = secs; result.proxyExitCode = (e.exitCode as number | null) ?? null; }
      if (e.ev === 'app-exit-seen' || e.ev === 'proxy-exit-seen') result.exitSeenSeconds = Number(e.seenAt) / 1000;
      if (e.ev === 'proxy-term') result.stopGraceSeconds = Number(e.graceMs) / 1000;
      if (e.ev === 'pod-complete') { result.completed = true; result.completedSeconds = secs; result.phase = e.phase === 'Succeeded' ? 'Succeeded' : 'Failed'; }
      if (e.ev === 'pod-not-complete') result.waitedSeconds = Number(e.waitedMs) / 1000;
      if (e.ev === 'error') result.notes.push(`pod runner: ${String(e.message)}`);
      if (e.ev === 'log' && e.from === 'app') {
        try {
          const j = JSON.parse(String(e.line)) as { msg?: string } & JobCall;
          if (j.msg === 'call') result.callRecords.push({ i: j.i, ok: j.ok, status: j.status, error: j.error, start: j.start, end: j.end });
        } catch { /* not JSON */ }
      }
      if (e.ev === 'log' && e.from === 'proxy') result.proxyLines.push(String(e.line));
      if (e.ev === 'log' && e.from === 'postStart') result.notes.push(`postStart: ${String(e.line)}`);
    }
    const ok = result.callRecords.filter((c) => c.ok).length;
    result.calls = { total: result.callRecords.length, ok, failed: result.callRecords.length - ok };
    if (!events.some((e) => e.ev === 'done')) result.notes.push(`the pod runner did not finish within ${o.limitMs / 1000} s`);
    if (result.proxyExitCode !== null && result.proxyExitCode !== 0) {
      result.notes.push(`the proxy exited ${result.proxyExitCode}${result.proxyExitCode === 137 ? ' (SIGKILLed at the end of its grace)' : ''}: ${mode === 'native'
        ? 'a native sidecar\'s exit code does not count toward the pod\'s phase'
        : 'a classic sidecar is a regular container, so its exit code fails the pod'}${result.proxyExitCode === 137 ? '; Argo marks a step whose pod has a container that exited 137 as failed (linkerd#13349)' : ''}`);
    }
  } finally {
    target.closeAllConnections();
    if (target.listening) await new Promise<void>((r) => target.close(() => r()));
    network?.destroy();
  }
  return result;
}

interface PodEvent { ev: string; t: number | null; [k: string]: unknown }

function runPod(argv: string[], limitMs: number): Promise<PodEvent[]> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const events: PodEvent[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => { try { events.push(JSON.parse(l) as PodEvent); } catch { /* ignore */ } });
    child.stderr!.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    const killOnExit = (): void => { child.kill('SIGKILL'); };
    process.once('exit', killOnExit);
    child.once('close', () => { clearTimeout(timer); process.off('exit', killOnExit); resolve(events); });
    child.once('error', () => { clearTimeout(timer); process.off('exit', killOnExit); resolve(events); });
  });
}

const f = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : v.toFixed(2));

/** The job scenario's own table: one column per setup. */
/** Per setup: the outbound calls, when the app and the proxy exited, whether the pod completed. */
export function jobTable(results: JobSetupResult[]): LabTable {
  const rows: Array<[string, string[]]> = [
    ['outbound calls ok', results.map((r) => (r.skipped ? 'skipped' : `${r.calls.ok}/${r.calls.total}`))],
    ['received by target', results.map((r) => (r.skipped ? '' : String(r.targetReceived)))],
    ['app exited (s)', results.map((r) => (r.skipped ? '' : `${f(r.appExitSeconds)} (${r.appExitCode ?? '–'})`))],
    ['proxy exited (s)', results.map((r) => (r.skipped ? '' : r.proxyExitSeconds === null ? 'no' : `${f(r.proxyExitSeconds)} (${r.proxyExitCode ?? '–'})`))],
    ['pod completed', results.map((r) => (r.skipped ? '' : r.completed ? `yes, ${f(r.completedSeconds)} s` : `NO (waited ${r.waitedSeconds ?? '?'} s)`))],
    ['pod phase', results.map((r) => (r.skipped ? '' : r.phase ?? 'Running'))],
    ['  after the app (s)', results.map((r) => (r.completed && r.completedSeconds !== null && r.appExitSeconds !== null ? f(r.completedSeconds - r.appExitSeconds) : ''))],
  ];
  return {
    caption: 'whether and when each Job pod completed (t = s after the app started; exit codes in brackets)',
    head: ['', ...results.map((r) => r.setup)],
    rows: rows.map(([l, v]) => [l, ...v]),
  };
}

export function renderJobTable(results: JobSetupResult[]): string {
  return renderTextTable(jobTable(results));
}
