/**
 * A kubelet simulator for one thing only: deleting a running pod, in the order Kubernetes uses.
 *
 * What the kubelet does (pkg/kubelet/kuberuntime, killContainersWithSyncResult → killContainer):
 * - every running container is killed concurrently, each in its own goroutine, all starting at t0;
 * - per container: grace = terminationGracePeriodSeconds (30 if unset); if there is a preStop hook
 *   and grace > 0, run it and wait for it at most `grace` seconds (a hook still running then is
 *   abandoned); grace -= whole seconds the hook took (Go int64 truncation);
 * - native sidecars (init containers with restartPolicy: Always): after its own preStop, a sidecar
 *   waits for its turn, at most the remaining grace: every regular container has exited and every
 *   sidecar declared after it has exited (so sidecars stop in reverse order); grace -= whole
 *   seconds waited. A sidecar's preStop therefore runs at t0 like everyone else's;
 * - grace is floored at 2 s (minimumGracePeriodInSeconds): that is the documented "one-off 2 s
 *   extension" when a hook is still running at the deadline;
 * - then StopContainer(grace): TERM to the main process, KILL if it has not exited after grace.
 * In classic mode (no restartable init container) there is no ordering: all containers get their
 * preStop, then TERM, independently.
 */
import { type Clock, realClock, sleep } from './clock.js';
import { execSleepSeconds } from '../inject/prestop.js';
// The same arithmetic as `ebb check`'s timeline (one set of rules, proven equal by a test).
import { MINIMUM_GRACE_SECONDS, stopGrace, wholeSeconds } from '../inject/termination.js';

export { MINIMUM_GRACE_SECONDS };
export const DEFAULT_GRACE_SECONDS = 30;

export type PreStopAction =
  | { kind: 'sleep'; seconds: number; via: 'sleep' | 'exec'; text: string; /** via exec: the command. */ command?: string[] }
  | { kind: 'httpGet'; path: string; port: number | string; host?: string; scheme: 'HTTP' | 'HTTPS'; text: string }
  /** An exec hook that is not a recognisable sleep: the lab does not run commands from manifests. */
  | { kind: 'exec'; command: string[]; text: string };

export interface PodContainer {
  name: string;
  /** A native sidecar: an init container with restartPolicy: Always. */
  sidecar: boolean;
  preStop?: PreStopAction;
  /** Its stop signal: lifecycle.stopSignal (KEP-4960), else the image's STOPSIGNAL when known (--stop-signal), else SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** The container spec as found in the manifest (the lab reads env, ports, args from it). */
  spec: Record<string, unknown>;
}

export interface PodModel {
  graceSeconds: number;
  /** Regular containers, then native sidecars, each in spec order. */
  containers: PodContainer[];
}

export interface HookResult { ok: boolean; detail: string }

/** How the simulator reaches the containers: real processes in the lab, fakes in unit tests. */
export interface ContainerDriver {
  /** The pod's IP: where an httpGet hook without a `host` goes (and the only host the lab sends hooks to). */
  readonly host?: string;
  /** The stop signal (SIGTERM unless the container says otherwise) or SIGKILL. */
  signal(container: string, sig: NodeJS.Signals): void;
  /** Resolves when the container's main process has exited (at once if it already has). */
  exited(container: string): Promise<void>;
  /** Performs an httpGet hook; the signal aborts it when the kubelet stops waiting. */
  httpGet(container: string, action: Extract<PreStopAction, { kind: 'httpGet' }>, signal: AbortSignal): Promise<HookResult>;
  /**
   * Runs an exec hook in the container, for real (a container runtime has this; the process
   * runtime has not, and simulates exec'd sleeps). The signal aborts it when the kubelet stops waiting.
   */
  exec?(container: string, command: string[], signal: AbortSignal): Promise<HookResult>;
}

/** How a preStopDone event's detail starts when the hook failed: the event the kubelet records then. */
export const FAILED_HOOK = 'FailedPreStopHook';
/** How it starts when the lab did not send an httpGet hook to the host it names (not the pod). */
export const HOOK_NOT_SENT = 'not sent';

const LOOPBACK_HOST = /^(localhost|127(\.[0-9]{1,3}){3}|::1|\[::1\])$/i;

/**
 * Where an httpGet hook's request goes. The kubelet sends it from the node to `host`, the pod's IP
 * when unset (handlers.go runHTTPHandler). So a loopback host is the NODE's loopback, where none of
 * the pod's ports are: the request is refused and the hook fails at once. Any other host but the
 * pod's own address is somewhere the lab does not send requests (another machine, a cluster DNS
 * name): the hook is not sent, and the lab says so rather than sending it to the pod instead.
 */
export function hookDestination(host: string | undefined, podAddress: string | undefined): { to: 'pod' } | { failed: string } | { notSent: string } {
  if (host === undefined || host === '') return { to: 'pod' };
  if (LOOPBACK_HOST.test(host)) {
    return { failed: `host ${host} is the node's own loopback, not the pod (the kubelet sends hooks from the node): nothing of the pod listens there, so the request is refused` };
  }
  if (podAddress !== undefined && host === podAddress) return { to: 'pod' };
  return { notSent: `host ${host} is not this pod's address (${podAddress ?? 'unknown'}); in a cluster the kubelet would send the request there, which the lab does not do (the hook counts as ending at once)` };
}

export type KubeletEventType =
  | 'delete' | 'preStop' | 'preStopDone' | 'preStopTimeout' | 'turn' | 'TERM' | 'KILL' | 'exit' | 'podGone';

export interface KubeletEvent {
  /** Milliseconds since t0 (the deletion). */
  at: number;
  type: KubeletEventType;
  container?: string;
  detail?: string;
}

// ---------------------------------------------------------------------------------------------
// Reading a pod spec

/** The pod spec inside any workload object (Pod, Deployment, …, CronJob), or undefined. */
export function podSpecOf(obj: unknown): Record<string, unknown> | undefined {
  const o = asRecord(obj);
  if (!o) return undefined;
  const kind = o.kind;
  const spec = asRecord(o.spec);
  if (kind === 'Pod') return spec;
  if (kind === 'CronJob') return asRecord(asRecord(asRecord(asRecord(spec?.jobTemplate)?.spec)?.template)?.spec);
  return asRecord(asRecord(spec?.template)?.spec);
}

export function podModelFromSpec(podSpec: Record<string, unknown>): PodModel {
  const grace = podSpec.terminationGracePeriodSeconds;
  const graceSeconds = typeof grace === 'number' && Number.isFinite(grace) && grace >= 0 ? Math.floor(grace) : DEFAULT_GRACE_SECONDS;
  const containers: PodContainer[] = [];
  for (const c of asArray(podSpec.containers)) {
    const spec = asRecord(c);
    if (spec) containers.push({ name: String(spec.name), sidecar: false, preStop: parsePreStop(spec), ...stopSignalOf(spec), spec });
  }
  for (const c of asArray(podSpec.initContainers)) {
    const spec = asRecord(c);
    // Plain init containers have already finished by the time a pod can be deleted while serving.
    if (spec && spec.restartPolicy === 'Always') containers.push({ name: String(spec.name), sidecar: true, preStop: parsePreStop(spec), ...stopSignalOf(spec), spec });
  }
  return { graceSeconds, containers };
}

/** lifecycle.stopSignal (KEP-4960, alpha in 1.33): the runtime sends it instead of the image's STOPSIGNAL or TERM. */
function stopSignalOf(spec: Record<string, unknown>): { stopSignal?: NodeJS.Signals } {
  const sig = asRecord(spec.lifecycle)?.stopSignal;
  if (typeof sig !== 'string' || !/^(SIG)?[A-Z0-9+-]+$/.test(sig)) return {};
  return { stopSignal: (sig.startsWith('SIG') ? sig : `SIG${sig}`) as NodeJS.Signals };
}

export function parsePreStop(containerSpec: Record<string, unknown>): PreStopAction | undefined {
  const pre = asRecord(asRecord(containerSpec.lifecycle)?.preStop);
  if (!pre) return undefined;
  const sl = asRecord(pre.sleep);
  if (sl && typeof sl.seconds === 'number') return { kind: 'sleep', seconds: sl.seconds, via: 'sleep', text: `sleep action ${sl.seconds}s` };
  const http = asRecord(pre.httpGet);
  if (http) {
    const path = typeof http.path === 'string' ? http.path : '/';
    const port = typeof http.port === 'number' || typeof http.port === 'string' ? http.port : 80;
    const scheme = http.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP';
    return { kind: 'httpGet', path, port, host: typeof http.host === 'string' ? http.host : undefined, scheme, text: `httpGet :${port}${path}` };
  }
  const exec = asRecord(pre.exec);
  if (exec) {
    const command = asArray(exec.command).map(String);
    const seconds = execSleepSeconds(command);
    if (seconds !== undefined) return { kind: 'sleep', seconds, via: 'exec', text: `exec ${JSON.stringify(command)}`, command };
    return { kind: 'exec', command, text: `exec ${JSON.stringify(command)}` };
  }
  return undefined;
}

// One recogniser for exec sleeps, shared with `ebb check` (re-exported for the lab's callers).
export { execSleepSeconds };

/**
 * An httpGet hook's or probe's port as the kubelet resolves it (pkg/kubelet/lifecycle/handlers.go
 * resolvePort; probes: pkg/kubelet/prober, probe.ResolveContainerPort): a number is itself; a
 * string is tried as a number first, then looked up by name among the ports of the hook's OWN
 * container (`container.Ports`), never another container's, although the pod shares one network
 * namespace; an empty string is port 80 (hooks). A name not found there makes the hook fail at
 * once (a FailedPreStopHook event; the kill goes on) and the probe fail. Shared by both runtimes.
 */
export function resolveContainerPort(containerSpec: Record<string, unknown>, port: number | string): { port: number } | { error: string } {
  if (typeof port === 'number') return { port };
  if (port === '') return { port: 80 };
  if (/^[0-9]+$/.test(port)) return { port: Number(port) };
  for (const p of asArray(containerSpec.ports)) {
    const r = asRecord(p);
    if (r && r.name === port && typeof r.containerPort === 'number') return { port: r.containerPort };
  }
  return { error: `no port named "${port}" in container ${String(containerSpec.name)}'s own ports (the kubelet looks nowhere else)` };
}

// ---------------------------------------------------------------------------------------------
// Deleting a pod

export interface DeleteOptions {
  clock?: Clock;
  /** Called for each event as it happens (the lab's progress and report use it). */
  onEvent?: (e: KubeletEvent) => void;
}

/**
 * Deletes the pod at t0 = now and resolves, once every container has exited, with every event in
 * the order it happened.
 */
export async function deletePod(pod: PodModel, driver: ContainerDriver, opts: DeleteOptions = {}): Promise<KubeletEvent[]> {
  const clock = opts.clock ?? realClock;
  const t0 = clock.now();
  const events: KubeletEvent[] = [];
  const emit = (type: KubeletEventType, container?: string, detail?: string): void => {
    const e: KubeletEvent = { at: clock.now() - t0, type, container, detail };
    events.push(e);
    opts.onEvent?.(e);
  };
  emit('delete', undefined, `grace ${pod.graceSeconds}s`);

  const ordering = pod.containers.some((c) => c.sidecar) ? new TerminationOrdering(pod, clock) : undefined;
  for (const c of pod.containers) {
    void driver.exited(c.name).then(() => emit('exit', c.name));
  }
  await Promise.all(pod.containers.map((c) => killContainer(c, pod.graceSeconds, driver, clock, emit, ordering)));
  // Let the exit watchers record their events before reporting the pod gone.
  await Promise.resolve();
  emit('podGone');
  return events;
}

async function killContainer(c: PodContainer, graceSeconds: number, driver: ContainerDriver, clock: Clock,
  emit: (type: KubeletEventType, container?: string, detail?: string) => void, ordering?: TerminationOrdering): Promise<void> {
  let grace = graceSeconds;
  if (c.preStop && grace > 0) {
    const start = clock.now();
    await runPreStop(c, c.preStop, grace, driver, clock, emit);
    grace -= wholeSeconds((clock.now() - start) / 1000);
  }
  if (ordering && grace > 0) {
    const start = clock.now();
    const waited = await ordering.waitForTurn(c.name, grace);
    if (waited) emit('turn', c.name);
    grace -= wholeSeconds((clock.now() - start) / 1000);
  }
  grace = stopGrace(grace);

  // StopContainer: the container's stop signal (the event keeps the name TERM for the report).
  const stopSignal = c.stopSignal ?? 'SIGTERM';
  emit('TERM', c.name, `${stopSignal === 'SIGTERM' ? '' : `${stopSignal}, `}grace ${grace}s`);
  driver.signal(c.name, stopSignal);
  const ac = new AbortController();
  const killed = await Promise.race([
    driver.exited(c.name).then(() => false),
    sleep(clock, grace * 1000, ac.signal).then(() => true),
  ]);
  ac.abort();
  if (killed) {
    emit('KILL', c.name);
    driver.signal(c.name, 'SIGKILL');
    await driver.exited(c.name);
  }
  ordering?.containerTerminated(c.name);
}

async function runPreStop(c: PodContainer, action: PreStopAction, grace: number, driver: ContainerDriver, clock: Clock,
  emit: (type: KubeletEventType, container?: string, detail?: string) => void): Promise<void> {
  emit('preStop', c.name, action.text);
  const ac = new AbortController();
  let hook: Promise<string>;
  const exec = driver.exec?.bind(driver);
  const command = action.kind === 'exec' ? action.command : action.kind === 'sleep' && action.via === 'exec' ? action.command : undefined;
  if (exec && command) {
    // Run for real in the container: it ends when the command does, or with the container.
    hook = exec(c.name, command, ac.signal).then((r) => r.detail, (e: Error) => `failed: ${e.message}`);
  } else switch (action.kind) {
    case 'sleep':
      // The sleep action sleeps in the kubelet whatever the container does; an exec'd sleep runs
      // inside the container and ends with it.
      hook = action.via === 'sleep'
        ? sleep(clock, action.seconds * 1000, ac.signal).then(() => `slept ${action.seconds}s`)
        : Promise.race([sleep(clock, action.seconds * 1000, ac.signal).then(() => `slept ${action.seconds}s`),
          driver.exited(c.name).then(() => 'container exited during the hook')]);
      break;
    case 'httpGet': {
      const port = resolveContainerPort(c.spec, action.port);
      const where = hookDestination(action.host, driver.host);
      // The kubelet fails such a hook before any request (FailedPreStopHook), then kills as usual.
      hook = 'error' in port ? Promise.resolve(`${FAILED_HOOK}: ${port.error}`)
        : 'failed' in where ? Promise.resolve(`${FAILED_HOOK}: ${where.failed}`)
        : 'notSent' in where ? Promise.resolve(`${HOOK_NOT_SENT}: ${where.notSent}`)
        : driver.httpGet(c.name, { ...action, port: port.port }, ac.signal).then((r) => r.detail, (e: Error) => `failed: ${e.message}`);
      break;
    }
    case 'exec':
      hook = Promise.resolve('not run: the lab only simulates sleep commands');
      break;
  }
  const timer = sleep(clock, grace * 1000, ac.signal).then(() => undefined);
  const done = await Promise.race([hook, timer]);
  ac.abort();
  if (done === undefined) emit('preStopTimeout', c.name, `still running after ${grace}s`);
  else emit('preStopDone', c.name, done);
}

/** The kubelet's terminationOrdering: which containers a sidecar waits for before its TERM. */
class TerminationOrdering {
  private terminated = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private prereqs = new Map<string, Promise<void>[]>();

  constructor(pod: PodModel, private readonly clock: Clock) {
    const regular = pod.containers.filter((c) => !c.sidecar);
    const sidecars = pod.containers.filter((c) => c.sidecar);
    for (const c of pod.containers) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      this.terminated.set(c.name, { promise, resolve });
    }
    const mains = regular.map((c) => this.terminated.get(c.name)!.promise);
    let later: string | undefined;
    for (const s of [...sidecars].reverse()) {
      const deps = [...mains];
      if (later) deps.push(this.terminated.get(later)!.promise);
      this.prereqs.set(s.name, deps);
      later = s.name;
    }
  }

  /** Waits for the container's prerequisites, at most graceSeconds; true if there were any. */
  async waitForTurn(name: string, graceSeconds: number): Promise<boolean> {
    const deps = this.prereqs.get(name);
    if (!deps || deps.length === 0) return false;
    const ac = new AbortController();
    await Promise.race([Promise.all(deps), sleep(this.clock, graceSeconds * 1000, ac.signal)]);
    ac.abort();
    return true;
  }

  containerTerminated(name: string): void {
    this.terminated.get(name)?.resolve();
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
