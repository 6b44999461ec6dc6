/**
 * The seed's timing rules, evaluated on a pod template as written (injected or not).
 * W = proxy wait before exit, S = an app container's preStop sleep, G = terminationGracePeriodSeconds.
 */
import { describePreStop, parseSleepDuration, proxyAdminPort, type ProxyHookTarget } from './prestop.js';
import { DEFAULT_INJECT_CONFIG } from './config.js';
import { AUTO_DEFAULTS } from '../drain/waiting.js';
import { appPorts, autoWaitSpec, DEFAULT_DRAIN_TIMEOUT_SECONDS, DEFAULT_GRACE_SECONDS, MIN_DRAIN_SECONDS, PROXY_CONTAINER } from './sidecar.js';
import { isObject, type JsonObject } from './workloads.js';
import { planOf } from './termination.js';
import type { Finding, TimingModel } from './types.js';

export { MIN_DRAIN_SECONDS };

function containers(spec: JsonObject, key: 'containers' | 'initContainers'): JsonObject[] {
  const list = spec[key];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

export function findProxy(spec: JsonObject): { where: 'initContainers' | 'containers'; index: number; container: JsonObject } | null {
  for (const where of ['initContainers', 'containers'] as const) {
    const index = containers(spec, where).findIndex((c) => c.name === PROXY_CONTAINER);
    if (index >= 0) return { where, index, container: containers(spec, where)[index] as JsonObject };
  }
  return null;
}

function envValue(c: JsonObject, name: string): string | undefined {
  if (!Array.isArray(c.env)) return undefined;
  for (const e of c.env) if (isObject(e) && e.name === name && typeof e.value === 'string') return e.value;
  return undefined;
}

/** Where the proxy serves /wait-quiet: EBB_ADMIN_PORT, else its `ebb-admin` port, else the default. */
function adminPortOf(proxy: JsonObject): number {
  return proxyAdminPort(proxy) ?? DEFAULT_INJECT_CONFIG.adminPort;
}

/**
 * The timing facts of a pod template. `graceSeconds` models a deletion with an override
 * (`kubectl delete --grace-period`, an eviction's, node shutdown's): the kubelet then uses it
 * instead of terminationGracePeriodSeconds.
 */
export function timingModel(spec: JsonObject, opts: { graceSeconds?: number } = {}): TimingModel {
  const g = spec.terminationGracePeriodSeconds;
  const graceOverridden = opts.graceSeconds !== undefined;
  const graceDefaulted = typeof g !== 'number' && !graceOverridden;
  const manifestGrace = typeof g === 'number' ? g : DEFAULT_GRACE_SECONDS;
  const graceSeconds = opts.graceSeconds ?? manifestGrace;
  const proxy = findProxy(spec);
  let proxyWaitSeconds = 0;
  let drainTimeoutSeconds = DEFAULT_DRAIN_TIMEOUT_SECONDS;
  let proxyWithdrawSeconds: number | undefined;
  let mode: TimingModel['mode'] = 'none';
  let proxyWaitAuto = false;
  let proxyWaitAutoMaxSeconds: number | undefined;
  let hookTarget: ProxyHookTarget | undefined;
  let proxyPreStopSeconds = 0;
  let proxyHasPreStop = false;
  if (proxy) {
    mode = proxy.where === 'initContainers' ? 'native' : 'classic';
    const pre = describePreStop(proxy.container);
    proxyHasPreStop = pre.kind !== 'none';
    if (pre.kind === 'sleep') { proxyWaitSeconds += pre.seconds; proxyPreStopSeconds = pre.seconds; }
    const seconds = (name: string): number | null => {
      const v = envValue(proxy.container, name);
      return v === undefined ? null : parseSleepDuration(v);
    };
    const envWait = envValue(proxy.container, 'EBB_WAIT_BEFORE_EXIT');
    const parsed = seconds('EBB_WAIT_BEFORE_EXIT');
    if (parsed !== null) proxyWaitSeconds += parsed;
    proxyWaitAuto = envWait?.trim().startsWith('auto') ?? false;
    proxyWaitAutoMaxSeconds = autoWaitSpec(envWait)?.maxSeconds;
    const d = seconds('EBB_DRAIN_TIMEOUT');
    if (d !== null) drainTimeoutSeconds = d;
    const w = seconds('EBB_WITHDRAW_TIMEOUT');
    if (w !== null && w > 0) proxyWithdrawSeconds = w;
    hookTarget = { adminPort: adminPortOf(proxy.container), defaultMaxSeconds: proxyWaitAutoMaxSeconds ?? AUTO_DEFAULTS.maxSeconds };
  }
  const apps = containers(spec, 'containers')
    .filter((c) => c.name !== PROXY_CONTAINER)
    .map((c) => ({ name: String(c.name ?? ''), preStop: describePreStop(c, hookTarget) }));
  const nativeSidecars = containers(spec, 'initContainers').filter((c) => c.restartPolicy === 'Always')
    .map((c) => (c.name === PROXY_CONTAINER ? { name: PROXY_CONTAINER, preStop: describePreStop(c), proxy: true as const } : { name: String(c.name ?? ''), preStop: describePreStop(c, hookTarget) }));
  const sleepAction = containers(spec, 'containers').filter((c) => c.name !== PROXY_CONTAINER)
    .map((c) => (isObject(c.lifecycle) && isObject(c.lifecycle.preStop) && isObject(c.lifecycle.preStop.sleep) ? String(c.name ?? '') : null))
    .filter((n): n is string => n !== null);
  return { mode, graceSeconds, graceDefaulted, proxyWaitSeconds, ...(proxyWaitAuto ? { proxyWaitAuto } : {}),
    ...(proxyWaitAutoMaxSeconds !== undefined ? { proxyWaitAutoMaxSeconds } : {}), drainTimeoutSeconds, apps,
    ...(proxyWithdrawSeconds !== undefined ? { proxyWithdrawSeconds } : {}),
    ...(proxy ? { proxyPreStopSeconds, proxyHasPreStop } : {}),
    ...(mode === 'native' ? { nativeSidecars } : {}),
    ...(graceOverridden ? { graceOverridden, manifestGraceSeconds: manifestGrace } : {}),
    ...(sleepAction.length ? { sleepActionContainers: sleepAction } : {}) };
}

export interface RuleResult { findings: Finding[]; passes: Finding[] }

/**
 * Evaluates the timing rules. `requestedWaitSeconds` is a wait asked for but not written (native
 * mode). `takesTraffic: false` (no app container declares a TCP port: a Job, a queue worker) skips
 * the rules about clients still sending during shutdown (no_proxy_wait, no_app_prestop): nobody
 * sends to such a pod, and a wait or a preStop there only delays its end.
 */
export function evaluateTiming(m: TimingModel, opts: { requestedWaitSeconds?: number; takesTraffic?: boolean } = {}): RuleResult {
  const takesTraffic = opts.takesTraffic ?? true;
  const findings: Finding[] = [];
  const passes: Finding[] = [];
  const G = m.graceSeconds;
  const W = m.proxyWaitSeconds;
  const add = (ok: boolean, f: Finding): void => { (ok ? passes : findings).push(f); };
  let last = 0;

  if (m.mode === 'classic') {
    if (takesTraffic) add(W > 0 || m.proxyWaitAuto === true, { code: 'no_proxy_wait', severity: 'warning', params: { wait: m.proxyWaitAuto ? 'auto' : W } });
    if (W > 0) add(W <= G, { code: 'wait_exceeds_grace', severity: 'error', params: { wait: W, grace: G } });
    // The auto wait may run to its MAX (traffic that never goes quiet), and withdrawing to its
    // timeout after it: the drain must still fit after both.
    const max = m.proxyWaitAutoMaxSeconds;
    const X = m.proxyWithdrawSeconds ?? 0;
    if (max !== undefined) {
      add(G - W - max - X >= MIN_DRAIN_SECONDS, { code: 'auto_wait_exceeds_grace', severity: 'error', params: { wait: W, max, grace: G, left: G - W - max - X, ...(X > 0 ? { withdraw: X } : {}) } });
    } else if (X > 0) {
      add(G - W - X >= MIN_DRAIN_SECONDS, { code: 'withdraw_exceeds_grace', severity: 'error', params: { wait: W, withdraw: X, grace: G, left: G - W - X } });
    }
    last = W;
  }
  // Native: the proxy's own preStop sleep runs from t0 like every preStop (it gets its stop signal
  // at max(sleep, the app's exit)), so only a wait after its TERM (EBB_WAIT_BEFORE_EXIT), or one
  // asked of inject but not written, is wasted: it delays the pod's end past the app's.
  const afterTerm = W - (m.proxyPreStopSeconds ?? W);
  const nativeWait = m.mode === 'native' ? Math.max(afterTerm, opts.requestedWaitSeconds ?? 0) : 0;
  if (nativeWait > 0) findings.push({ code: 'wait_ignored_in_native', severity: 'warning', params: { wait: nativeWait } });

  for (const app of m.apps) {
    const p = app.preStop;
    if (p.kind === 'sleep' || p.kind === 'wait-quiet') {
      // A /wait-quiet hook ends once traffic is quiet, at the latest after its max: that bound is S.
      const S = p.seconds;
      const hook: Record<string, string> = p.kind === 'wait-quiet' ? { hook: 'wait-quiet' } : {};
      // The sleep action is validated against terminationGracePeriodSeconds by the API server
      // (pkg/apis/core/validation validateSleepAction: seconds > grace is invalid), so such a
      // manifest is rejected; any other hook still running at G is abandoned by the kubelet,
      // which sends TERM at G and SIGKILL 2 s later (killContainer, minimumGracePeriodInSeconds).
      const action = m.sleepActionContainers?.includes(app.name) === true && p.kind === 'sleep';
      const manifestG = m.manifestGraceSeconds ?? G;
      if (action && S > manifestG) {
        findings.push({ code: 'app_prestop_exceeds_grace', severity: 'error', container: app.name, params: { sleep: S, grace: manifestG, rejected: 'api-server' } });
      } else {
        add(S <= G, { code: 'app_prestop_exceeds_grace', severity: 'error', container: app.name, params: { sleep: S, grace: G, kill: G + 2, ...hook } });
      }
      // With an auto wait the proxy serves until traffic is quiet: there is no fixed W to compare with.
      if (m.mode === 'classic' && !m.proxyWaitAuto && (W > 0 || S > 0)) {
        add(S < W, { code: 'app_prestop_not_shorter', severity: 'error', container: app.name, params: { sleep: S, wait: W, ...hook } });
      }
      if (m.mode !== 'none' && (m.mode === 'native' || W > 0)) passes.push({ code: 'no_app_prestop', severity: 'warning', container: app.name, params: { sleep: S, ...hook } });
      last = Math.max(last, S);
    } else if (p.kind === 'other') {
      findings.push({ code: 'app_prestop_unchecked', severity: 'info', container: app.name, params: { shape: p.shape } });
    } else if (takesTraffic && (m.mode === 'native' || (m.mode === 'classic' && W > 0))) {
      findings.push({ code: 'no_app_prestop', severity: 'warning', container: app.name, params: { mode: m.mode, wait: W } });
    }
  }
  // Native (classic has its own rules above): by the kubelet's arithmetic (termination.ts), is the
  // proxy SIGKILLed before its drain deadline? It gets TERM only once the app has exited, with what
  // the grace period leaves; killed, it exits 137, which fails Argo steps (linkerd#13349). ebb's
  // proxy only: other meshes' drain settings are their own.
  if (m.mode === 'native' && m.mesh === undefined) {
    const p = planOf(m).find((r) => r.name === (m.proxyName ?? PROXY_CONTAINER));
    if (p) {
      add(p.killAt === null, { code: 'drain_exceeds_grace', severity: 'error',
        params: { drain: m.drainTimeoutSeconds, term: Math.round(p.termAt * 100) / 100, kill: Math.round((p.termAt + p.stopGraceSeconds) * 100) / 100, mode: m.mode } });
    }
  }
  if (m.mode !== 'none' && last <= G) {
    const left = G - last;
    add(left >= MIN_DRAIN_SECONDS, { code: 'no_time_to_drain', severity: 'warning', params: { left, last, grace: G } });
  }
  return { findings, passes };
}

/** Port facts (no TCP port to serve; UDP ports not proxied), for injected templates. */
export function portFindings(spec: JsonObject): Finding[] {
  const { tcp, other } = appPorts(spec);
  const out: Finding[] = [];
  // Without a declared port the proxy runs with EBB_INBOUND=none (admin and outbound only): right
  // for a Job or a worker, worth a note for anything that does take traffic.
  const proxy = findProxy(spec);
  const transparent = proxy !== null && envValue(proxy.container, 'EBB_TRANSPARENT') === 'true';
  if (tcp.length === 0 && !transparent) out.push({ code: 'no_app_ports', severity: 'info', params: { outbound: 'no' } });
  for (const o of other) out.push({ code: 'udp_port_not_proxied', severity: 'info', container: o.container, params: { port: o.port, protocol: o.protocol } });
  return out;
}

/** Where a container has an httpGet/tcpSocket port the kubelet resolves: hooks and probes. */
const PORT_FIELDS: ReadonlyArray<{ field: string; path: readonly string[] }> = [
  { field: 'lifecycle.preStop.httpGet', path: ['lifecycle', 'preStop', 'httpGet'] },
  { field: 'lifecycle.postStart.httpGet', path: ['lifecycle', 'postStart', 'httpGet'] },
  ...(['readinessProbe', 'livenessProbe', 'startupProbe'] as const).flatMap((probe) => (['httpGet', 'tcpSocket'] as const)
    .map((kind) => ({ field: `${probe}.${kind}`, path: [probe, kind] }))),
];

/**
 * Hooks and probes whose `port` is a name that none of their OWN container's ports has. The kubelet
 * resolves a port name only in `container.Ports` (pkg/kubelet/lifecycle/handlers.go resolvePort,
 * probes: ResolveContainerPort), never in the other containers', though they share the pod's
 * network: such a hook fails at once in every cluster, and such a probe never passes.
 */
export function namedPortFindings(spec: JsonObject): Finding[] {
  const out: Finding[] = [];
  const all = [...containers(spec, 'containers'), ...containers(spec, 'initContainers')];
  const namesOf = (c: JsonObject): Map<string, number> => new Map((Array.isArray(c.ports) ? c.ports.filter(isObject) : [])
    .filter((p) => typeof p.name === 'string' && typeof p.containerPort === 'number').map((p) => [p.name as string, p.containerPort as number]));
  for (const c of all) {
    for (const { field, path } of PORT_FIELDS) {
      let at: unknown = c;
      for (const k of path) at = isObject(at) ? at[k] : undefined;
      const port = isObject(at) ? at.port : undefined;
      if (typeof port !== 'string' || port === '' || /^[0-9]+$/.test(port) || namesOf(c).has(port)) continue;
      const owner = all.find((o) => o !== c && namesOf(o).has(port));
      out.push({ code: 'named_port_not_in_container', severity: 'error', container: String(c.name ?? ''),
        params: { field, port, ...(owner ? { owner: String(owner.name ?? ''), number: namesOf(owner).get(port)! } : {}) } });
    }
  }
  return out;
}

const LOOPBACK_HOST = /^(localhost|127(\.[0-9]{1,3}){3}|::1|\[::1\])$/i;

/**
 * httpGet hooks and probes with a loopback `host`. The kubelet sends them from the node
 * (pkg/kubelet/lifecycle/handlers.go, pkg/kubelet/prober), so `localhost` is the node's loopback,
 * where none of the pod's ports are (unless the pod uses hostNetwork): such a preStop fails at once
 * and such a probe never passes. Leaving `host` out sends them to the pod's IP.
 */
export function loopbackHostFindings(spec: JsonObject): Finding[] {
  if (spec.hostNetwork === true) return [];
  const out: Finding[] = [];
  for (const c of [...containers(spec, 'containers'), ...containers(spec, 'initContainers')]) {
    for (const { field, path } of PORT_FIELDS) {
      if (!field.endsWith('httpGet')) continue;
      let at: unknown = c;
      for (const k of path) at = isObject(at) ? at[k] : undefined;
      const host = isObject(at) ? at.host : undefined;
      if (typeof host === 'string' && LOOPBACK_HOST.test(host)) {
        out.push({ code: 'hook_host_is_node_loopback', severity: 'error', container: String(c.name ?? ''), params: { field, host } });
      }
    }
  }
  return out;
}

/** The signals `ebb proxy` starts its graceful shutdown on (src/cli/proxy.ts). */
export const DRAIN_SIGNALS: readonly string[] = ['SIGTERM', 'SIGINT', 'SIGQUIT'];

/** Is the injected sidecar where its mode needs it? */
export function sanityFindings(spec: JsonObject, annotations: JsonObject, currentVersion: string): Finding[] {
  const out: Finding[] = [];
  const proxy = findProxy(spec);
  if (!proxy) return out;
  if (proxy.where === 'initContainers' && proxy.container.restartPolicy !== 'Always') {
    out.push({ code: 'native_sidecar_misplaced', severity: 'error', params: {} });
  }
  if (proxy.where === 'containers' && proxy.index !== 0) out.push({ code: 'proxy_not_first', severity: 'warning', params: {} });
  // lifecycle.stopSignal (KEP-4960, alpha in 1.33) replaces TERM as the container's stop signal;
  // the proxy drains only on TERM, INT and QUIT, so any other one ends it without a drain.
  const stop = isObject(proxy.container.lifecycle) ? proxy.container.lifecycle.stopSignal : undefined;
  if (typeof stop === 'string' && !DRAIN_SIGNALS.includes(stop.toUpperCase().replace(/^(SIG)?/, 'SIG'))) {
    out.push({ code: 'stop_signal_not_drained', severity: 'warning', params: { signal: stop } });
  }
  // EBB_SIDECAR_MODE tells the proxy whether its TERM means the app has exited; it must say where it runs.
  const said = envValue(proxy.container, 'EBB_SIDECAR_MODE');
  const actual = proxy.where === 'initContainers' ? 'native' : 'classic';
  if ((said === 'native' || said === 'classic') && said !== actual) {
    out.push({ code: 'sidecar_mode_mismatch', severity: actual === 'classic' ? 'error' : 'warning', params: { said, actual } });
  }
  const v = annotations['ebb.io/proxy-version'];
  if (typeof v === 'string' && v !== currentVersion) {
    out.push({ code: 'proxy_version_mismatch', severity: 'info', params: { injected: v, current: currentVersion } });
  }
  return out;
}
