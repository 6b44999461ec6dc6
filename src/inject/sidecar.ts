/** The ebb-proxy container, as both sidecar modes run it. Env names follow CONTRACTS.md. */
import { isObject, type Json, type JsonObject } from './workloads.js';
import type { InjectConfig } from './types.js';
import { parseWaitBeforeExit, type WaitSpec } from '../drain/waiting.js';

export const PROXY_CONTAINER = 'ebb-proxy';
/** The init container that installs the iptables rules for transparent interception (docs/init.md). */
export const INIT_CONTAINER = 'ebb-init';
/** The proxy's outbound listener (CONTRACTS: --outbound-port default), 127.0.0.1 only. */
export const OUTBOUND_PORT = 4140;
/** The proxy's UID (CONTRACTS: --proxy-uid default); `ebb init` exempts it from redirection. */
export const PROXY_UID = 2102;
/** Kubernetes' grace period when the pod spec does not set one. */
export const DEFAULT_GRACE_SECONDS = 30;
/** The proxy's own drain deadline when EBB_DRAIN_TIMEOUT is not set. */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 30;

export interface AppPort { port: number; container: string }

/** TCP containerPorts of the app containers (and of the user's own native sidecars), first seen first. */
export function appPorts(podSpec: JsonObject): { tcp: AppPort[]; other: { port: number; protocol: string; container: string }[] } {
  const tcp: AppPort[] = [];
  const other: { port: number; protocol: string; container: string }[] = [];
  const seen = new Set<number>();
  const userSidecars = (Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [])
    .filter((c) => isObject(c) && c.restartPolicy === 'Always');
  const containers = [...(Array.isArray(podSpec.containers) ? podSpec.containers : []), ...userSidecars];
  for (const c of containers) {
    if (!isObject(c) || c.name === PROXY_CONTAINER || !Array.isArray(c.ports)) continue;
    for (const p of c.ports) {
      if (!isObject(p) || typeof p.containerPort !== 'number') continue;
      const protocol = typeof p.protocol === 'string' ? p.protocol : 'TCP';
      if (protocol !== 'TCP') { other.push({ port: p.containerPort, protocol, container: String(c.name) }); continue; }
      if (seen.has(p.containerPort)) continue;
      seen.add(p.containerPort);
      tcp.push({ port: p.containerPort, container: String(c.name) });
    }
  }
  return { tcp, other };
}

function resources(config: InjectConfig): JsonObject | null {
  const r = config.resources;
  const requests: JsonObject = {};
  const limits: JsonObject = {};
  if (r.cpuRequest) requests.cpu = r.cpuRequest;
  if (r.memoryRequest) requests.memory = r.memoryRequest;
  if (r.cpuLimit) limits.cpu = r.cpuLimit;
  if (r.memoryLimit) limits.memory = r.memoryLimit;
  const out: JsonObject = {};
  if (Object.keys(limits).length) out.limits = limits;
  if (Object.keys(requests).length) out.requests = requests;
  return Object.keys(out).length ? out : null;
}

export interface SidecarInputs {
  readonly config: InjectConfig;
  readonly ports: readonly number[];
  readonly graceSeconds: number;
  /** Native mode: the longest app preStop (the proxy's TERM comes after it). */
  readonly appPreStopSeconds?: number;
}

/** Less than this between the last TERM (or the end of the longest wait) and SIGKILL leaves in-flight requests no time to finish. */
export const MIN_DRAIN_SECONDS = 5;

/** The auto wait `EBB_WAIT_BEFORE_EXIT` asks for (the proxy's own parser), or null: none, or a fixed number. */
export function autoWaitSpec(raw: string | null | undefined): Extract<WaitSpec, { mode: 'auto' }> | null {
  if (raw === null || raw === undefined) return null;
  const r = parseWaitBeforeExit(raw);
  return r.ok && r.value.mode === 'auto' ? r.value : null;
}

/**
 * Withdrawing (src/drain WithdrawOptions), fitted: the readiness probe inject writes notices a 503
 * within its periodSeconds x failureThreshold (READINESS_PERIOD_SECONDS x READINESS_FAILURES),
 * kube-proxy (and clients through it) take a moment more to stop sending (ENDPOINT_PROPAGATION_SECONDS,
 * the lab's default propagation delay), and then inbound must stay quiet for the auto wait's QUIET.
 */
export const READINESS_PERIOD_SECONDS = 2;
export const READINESS_FAILURES = 3;
export const ENDPOINT_PROPAGATION_SECONDS = 5;
export const WITHDRAW_SECONDS = READINESS_PERIOD_SECONDS * READINESS_FAILURES + ENDPOINT_PROPAGATION_SECONDS + 2;
/** The auto wait keeps at least this much of the budget before withdrawing gets any (plain `auto`). */
const AUTO_BEFORE_WITHDRAW_SECONDS = 10;

/**
 * What the proxy is told about its shutdown timing, so that (classic mode) the fixed wait F, the
 * auto wait's MAX, withdrawing's timeout X and the drain deadline all end 1 s before the kubelet's
 * SIGKILL at G: F + MAX + X + drain <= G - 1.
 *
 * Withdrawing (classic with an auto wait only: a native proxy's TERM means the app has exited, and
 * with a fixed wait the app's preStop ends before it, so there is nothing to serve with) gets up
 * to WITHDRAW_SECONDS of what the grace period leaves past MIN_DRAIN_SECONDS and, with plain
 * `auto`, past AUTO_BEFORE_WITHDRAW_SECONDS for the wait. It costs nothing when traffic
 * has already stopped by the end of the wait (it ends after QUIET, counted from the last request);
 * it is what a last replica's clients (KEP-1669) are served in while the kubelet notices /ready 503.
 *
 * A plain `--wait-before-exit auto` (MAX 25 by default) is fitted to what is left: the auto wait
 * gets at most two thirds and the drain keeps the rest, never less than MIN_DRAIN_SECONDS. Two
 * thirds, because the wait normally ends early (once traffic is quiet) and runs to MAX only under
 * traffic that never stops, while the drain deadline is what slow in-flight requests get: with the
 * default 30 s that is a 13 s withdraw, auto:2:2:10 and a 6 s drain. An explicit auto:MIN:QUIET:MAX
 * is written as given, even when it cannot fit: the rules report that (auto_wait_exceeds_grace)
 * instead of changing it, and withdrawing gets only what it leaves.
 */
export interface ProxyTiming {
  /** EBB_WAIT_BEFORE_EXIT as written; null when there is no auto wait. */
  readonly autoWait: string | null;
  /** The MAX of the auto wait as written (0 without one). */
  readonly autoMaxSeconds: number;
  /** EBB_WITHDRAW_TIMEOUT (0: none, not written). */
  readonly withdrawSeconds: number;
  /** EBB_DRAIN_TIMEOUT; null leaves the proxy's own default (DEFAULT_DRAIN_TIMEOUT_SECONDS). */
  readonly drainSeconds: number | null;
}

export function proxyTiming(config: InjectConfig, graceSeconds: number, appPreStopSeconds = 0): ProxyTiming {
  const auto = autoWaitSpec(config.proxyWaitAuto);
  const classic = config.mode === 'classic';
  let autoWait = auto ? config.proxyWaitAuto! : null;
  let max = auto ? auto.maxSeconds : 0;
  // What the grace period leaves at the proxy's TERM, less 1 s so the proxy exits before SIGKILL.
  // Classic: TERM after the fixed wait F. Native: TERM once the app has exited, at the earliest
  // after its longest preStop S, with what is left of G in whole seconds, at least 2
  // (killContainer's minimumGracePeriodInSeconds); a drain past that is a SIGKILL and exit 137,
  // which fails Argo steps (linkerd#13349).
  const budget = classic ? graceSeconds - config.waitBeforeExitSeconds - 1 : Math.max(2, graceSeconds - Math.trunc(appPreStopSeconds)) - 1;
  const fitAuto = auto !== null && autoWait?.trim() === 'auto';
  // Only an auto wait: with a fixed one the app's own preStop (a sleep shorter than the wait, or a
  // /wait-quiet bounded by it) has ended before the proxy's wait does, so the app is leaving and
  // there is nothing left to serve a last replica's clients with.
  const withdraw = !classic ? 0
    : config.withdrawTimeoutSeconds ?? (auto ? Math.max(0, Math.min(WITHDRAW_SECONDS, budget - MIN_DRAIN_SECONDS - (fitAuto ? AUTO_BEFORE_WITHDRAW_SECONDS : max))) : 0);
  if (fitAuto) {
    const left = budget - withdraw;
    const fitted = Math.max(0, Math.min(auto.maxSeconds, Math.floor((left * 2) / 3), left - MIN_DRAIN_SECONDS));
    if (fitted < auto.maxSeconds) {
      max = fitted;
      autoWait = `auto:${Math.min(auto.minSeconds, fitted)}:${auto.quietSeconds}:${fitted}`;
    }
  }
  let drainSeconds: number | null = config.drainTimeoutSeconds;
  if (drainSeconds === null) {
    const left = budget - max - withdraw;
    drainSeconds = left >= DEFAULT_DRAIN_TIMEOUT_SECONDS ? null : Math.max(1, left);
  }
  return { autoWait, autoMaxSeconds: max, withdrawSeconds: withdraw, drainSeconds };
}

/** The proxy's preStop: an httpGet to its own GET /prestop?seconds=W (src/admin/prestop.ts) on the admin port. */
export function preStopHook(adminPort: number, seconds: number): JsonObject {
  return { httpGet: { path: `/prestop?seconds=${seconds}`, port: adminPort } };
}

export function proxyContainer({ config, ports, graceSeconds, appPreStopSeconds }: SidecarInputs): JsonObject {
  const admin = config.adminPort;
  const env: Json[] = [];
  if (ports.length) env.push({ name: 'EBB_INBOUND', value: ports.map((p, i) => `${config.inboundPort + i}:${p}`).join(',') });
  // No declared port and no interception: the pod takes no inbound traffic (most Jobs), so the
  // proxy runs admin (and outbound) only instead of refusing to start.
  else if (!config.transparent) env.push({ name: 'EBB_INBOUND', value: 'none' });
  env.push({ name: 'EBB_ADMIN_PORT', value: String(admin) });
  const timing = proxyTiming(config, graceSeconds, appPreStopSeconds);
  const drain = timing.drainSeconds;
  if (drain !== null) env.push({ name: 'EBB_DRAIN_TIMEOUT', value: String(drain) });
  if (timing.withdrawSeconds > 0) env.push({ name: 'EBB_WITHDRAW_TIMEOUT', value: String(timing.withdrawSeconds) });
  if (config.logLevel) env.push({ name: 'EBB_LOG_LEVEL', value: config.logLevel });
  if (config.transparent) {
    // The outbound listener's shutdown policy depends on whether TERM means "the app has exited".
    env.push({ name: 'EBB_TRANSPARENT', value: 'true' });
    env.push({ name: 'EBB_SIDECAR_MODE', value: config.mode });
  }
  if (timing.autoWait) env.push({ name: 'EBB_WAIT_BEFORE_EXIT', value: timing.autoWait });

  const containerPorts: Json[] = [{ name: 'ebb-admin', containerPort: admin, protocol: 'TCP' }];
  ports.forEach((p, i) => containerPorts.push({ name: `ebb-in-${p}`, containerPort: config.inboundPort + i, protocol: 'TCP' }));

  const c: JsonObject = {
    name: PROXY_CONTAINER,
    image: config.proxyImage,
    args: ['proxy'],
    env,
    ports: containerPorts,
  };
  const res = resources(config);
  if (res) c.resources = res;
  c.securityContext = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: PROXY_UID,
    runAsGroup: PROXY_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const probe = (path: string, extra: JsonObject): JsonObject => ({ httpGet: { path, port: admin }, ...extra });
  if (config.mode === 'classic') {
    const lifecycle: JsonObject = {
      // Blocks the start of the next containers until the proxy answers /ready (the kubelet starts
      // containers in order and waits for each postStart hook).
      postStart: { exec: { command: ['ebb', 'await', ...(admin === 4191 ? [] : ['--port', String(admin)]), '--timeout', config.awaitTimeout] } },
    };
    const w = config.waitBeforeExitSeconds;
    // The wait W is the proxy's own preStop, GET /prestop?seconds=W: the kubelet calls it at t0, so
    // the proxy tells its clients to leave from then on (Connection: close, GOAWAY) instead of from
    // its TERM, W seconds later; TERM still comes at W, as after a `sleep W`.
    if (w > 0) lifecycle.preStop = preStopHook(admin, w);
    c.lifecycle = lifecycle;
  } else {
    c.restartPolicy = 'Always';
    // A native sidecar's preStop runs at t0 too (its TERM comes once the app has exited): with
    // seconds=0 it only tells the proxy that the pod is terminating, and the timing is unchanged.
    c.lifecycle = { preStop: preStopHook(admin, 0) };
    // The kubelet starts the next container only once a native sidecar's startupProbe succeeds.
    c.startupProbe = probe('/ready', { periodSeconds: 1, failureThreshold: 120 });
  }
  c.livenessProbe = probe('/live', { periodSeconds: 10, failureThreshold: 3 });
  // Three misses (6 s), as Kubernetes' default: one slow answer on a busy node must not take the pod
  // out of its Services. Shutdown does not rely on it: a terminating pod's endpoint is ready=false at once.
  c.readinessProbe = probe('/ready', { periodSeconds: READINESS_PERIOD_SECONDS, failureThreshold: READINESS_FAILURES });
  return c;
}

/** EBB_SKIP_* for ebb-init: the workload's skip settings (config.ebb.io/skip-…), plus the proxy's own extra inbound ports. */
function skipEnv(config: InjectConfig, inboundPorts: number): Json[] {
  // The proxy's other inbound listen ports (4143 + i) are never redirected either.
  const own = inboundPorts > 1 ? [inboundPorts === 2 ? `${config.inboundPort + 1}` : `${config.inboundPort + 1}-${config.inboundPort + inboundPorts - 1}`] : [];
  const inbound = [...own, ...(config.skipInboundPorts ? [config.skipInboundPorts] : [])].join(',');
  const out: Json[] = [];
  if (inbound) out.push({ name: 'EBB_SKIP_INBOUND_PORTS', value: inbound });
  if (config.skipOutboundPorts) out.push({ name: 'EBB_SKIP_OUTBOUND_PORTS', value: config.skipOutboundPorts });
  if (config.skipOutboundCidrs) out.push({ name: 'EBB_SKIP_OUTBOUND_CIDRS', value: config.skipOutboundCidrs });
  return out;
}

/**
 * `ebb-init`: runs `ebb init` once before every other container, so the pod's TCP is redirected
 * through the proxy before the app can open a connection. Changing iptables needs NET_ADMIN and
 * NET_RAW, granted only here; iptables needs them as effective capabilities, which Kubernetes gives
 * only to uid 0, so this one container runs as root (runAsNonRoot: false). It runs the same ebb as
 * the proxy, from an image that also has iptables (the distroless proxy image has none), with the
 * proxy's ports and uid, so both sides agree.
 */
export function initContainer(config: InjectConfig, inboundPorts: number): JsonObject {
  return {
    name: INIT_CONTAINER,
    image: initImageFor(config),
    args: ['init'],
    env: [
      { name: 'EBB_INBOUND_PORT', value: String(config.inboundPort) },
      { name: 'EBB_OUTBOUND_PORT', value: String(OUTBOUND_PORT) },
      { name: 'EBB_ADMIN_PORT', value: String(config.adminPort) },
      { name: 'EBB_PROXY_UID', value: String(PROXY_UID) },
      ...skipEnv(config, inboundPorts),
    ],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      privileged: false,
      runAsNonRoot: false,
      runAsUser: 0,
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
}

/**
 * The ebb-init image: --init-image, else the proxy image's repository with "-init" and the same tag
 * or digest-free reference (ebb:1.2 → ebb-init:1.2, ghcr.io/x/ebb:1.2 → ghcr.io/x/ebb-init:1.2).
 */
export function initImageFor(config: InjectConfig): string {
  if (config.initImage) return config.initImage;
  const ref = config.proxyImage.split('@')[0]!;
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? `${ref.slice(0, colon)}-init${ref.slice(colon)}` : `${ref}-init`;
}
