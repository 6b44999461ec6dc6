/**
 * `ebb check` on workloads of other meshes: Linkerd and Istio pods are put on the same timeline as
 * ebb's (the proxy's wait W, its drain, each app's preStop S, the grace period G) and judged by the
 * same rules, plus what each mesh adds. Injecting ebb into them stays refused; checking them is the
 * point. Pure: a pod template in, findings and a timing model out.
 *
 * Shapes read (as each injector writes them, per their docs):
 * - Linkerd: `linkerd-proxy` as the first container (classic), or an init container with
 *   `restartPolicy: Always` (`config.alpha.linkerd.io/proxy-enable-native-sidecar`). W is its preStop
 *   `/bin/sleep N`, written from `config.alpha.linkerd.io/proxy-wait-before-exit-seconds`; after TERM
 *   it drains up to LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD (120s by default). A template that only
 *   says `linkerd.io/inject: enabled` (what `kubectl get deploy` shows: the webhook injects at pod
 *   creation) is checked as Linkerd would inject it.
 * - Istio: `istio-proxy` as a container (classic) or a restartable init container (native
 *   sidecars). On TERM it stops taking new inbound connections and exits after
 *   `terminationDrainDuration` (proxy.istio.io/config or PROXY_CONFIG, 5s by default), sooner with
 *   EXIT_ON_ZERO_ACTIVE_CONNECTIONS once connections reach zero. A template that only asks for the
 *   sidecar (`sidecar.istio.io/inject: "true"`) is checked as a classic sidecar.
 */
import { parse as parseYaml } from 'yaml';
import { describePreStop } from './prestop.js';
import { evaluateTiming } from './rules.js';
import { DEFAULT_GRACE_SECONDS } from './sidecar.js';
import { isJobKind } from './jobs.js';
import { isObject, type JsonObject } from './workloads.js';
import type { Finding, TimingModel } from './types.js';

export type Mesh = 'linkerd' | 'istio';
export const MESH_NAMES: Readonly<Record<Mesh, string>> = { linkerd: 'Linkerd', istio: 'Istio' };
const PROXY: Readonly<Record<Mesh, string>> = { linkerd: 'linkerd-proxy', istio: 'istio-proxy' };
/** Containers each mesh adds besides the proxy: not apps. */
const INFRA = new Set(['linkerd-proxy', 'linkerd-init', 'linkerd-network-validator', 'istio-proxy', 'istio-init', 'istio-validation']);

export const LINKERD_WAIT_ANNOTATION = 'config.alpha.linkerd.io/proxy-wait-before-exit-seconds';
const LINKERD_NATIVE_ANNOTATIONS = ['config.alpha.linkerd.io/proxy-enable-native-sidecar', 'config.beta.linkerd.io/proxy-enable-native-sidecar', 'config.linkerd.io/proxy-enable-native-sidecar'];
/** Linkerd's default for LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD. */
const LINKERD_DEFAULT_SHUTDOWN_GRACE_SECONDS = 120;
/** Istio's default terminationDrainDuration. */
const ISTIO_DEFAULT_DRAIN_SECONDS = 5;

function list(spec: JsonObject, key: 'containers' | 'initContainers'): JsonObject[] {
  const l = spec[key];
  return Array.isArray(l) ? l.filter(isObject) : [];
}

function env(c: JsonObject | undefined, name: string): string | undefined {
  if (!c || !Array.isArray(c.env)) return undefined;
  for (const e of c.env) if (isObject(e) && e.name === name && typeof e.value === 'string') return e.value;
  return undefined;
}

function findMeshProxy(spec: JsonObject, mesh: Mesh): { where: 'containers' | 'initContainers'; container: JsonObject } | null {
  for (const where of ['initContainers', 'containers'] as const) {
    const c = list(spec, where).find((x) => x.name === PROXY[mesh]);
    if (c) return { where, container: c };
  }
  return null;
}

/** Which other mesh runs (or will be injected into) this pod template, if any. */
export function meshOf(spec: JsonObject, annotations: JsonObject, labels: JsonObject): Mesh | null {
  if (findMeshProxy(spec, 'linkerd')) return 'linkerd';
  if (findMeshProxy(spec, 'istio')) return 'istio';
  // Their init containers without the proxy: a half-injected template; checked as the mesh would finish it.
  const inits = list(spec, 'initContainers').map((c) => String(c.name));
  if (inits.some((n) => n === 'linkerd-init' || n === 'linkerd-network-validator')) return 'linkerd';
  if (inits.some((n) => n === 'istio-init' || n === 'istio-validation')) return 'istio';
  if (annotations['linkerd.io/inject'] === 'enabled') return 'linkerd';
  if (String(labels['sidecar.istio.io/inject'] ?? annotations['sidecar.istio.io/inject'] ?? '') === 'true') return 'istio';
  return null;
}

/** A Go duration as Istio writes them (20s, 1m30s, 500ms), in seconds; null if it is not one. */
export function parseGoDuration(raw: string): number | null {
  const t = raw.trim();
  if (/^[0-9]+(\.[0-9]+)?$/.test(t)) return Number(t);
  if (!/^([0-9]+(\.[0-9]+)?(h|ms|m|s|us|µs|ns))+$/.test(t)) return null;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, 'µs': 1e-6, ns: 1e-9 };
  let total = 0;
  for (const m of t.matchAll(/([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return total;
}

/** Istio's proxy config for this pod: the annotation, else the proxy's PROXY_CONFIG (JSON or YAML). */
function istioProxyConfig(annotations: JsonObject, proxy: JsonObject | undefined): JsonObject {
  for (const raw of [annotations['proxy.istio.io/config'], env(proxy, 'PROXY_CONFIG')]) {
    if (typeof raw !== 'string') continue;
    try {
      const v: unknown = parseYaml(raw);
      if (isObject(v)) return v;
    } catch { /* an unreadable config: Istio's defaults, as its injector would fall back */ }
  }
  return {};
}

export interface MeshCheck {
  readonly mesh: Mesh;
  readonly timing: TimingModel;
  readonly findings: Finding[];
  readonly passes: Finding[];
}

const withMesh = (mesh: Mesh) => (f: Finding): Finding => ({ ...f, params: { ...f.params, mesh } });

/** The shutdown timeline and findings of a Linkerd- or Istio-injected pod template. */
export function checkMesh(mesh: Mesh, kind: string, spec: JsonObject, annotations: JsonObject, graceOverride?: number): MeshCheck {
  const g = spec.terminationGracePeriodSeconds;
  const grace = graceOverride ?? (typeof g === 'number' ? g : DEFAULT_GRACE_SECONDS);
  const found = findMeshProxy(spec, mesh);
  const proxy = found?.container;
  const apps = list(spec, 'containers').filter((c) => !INFRA.has(String(c.name)));
  const appModels = apps.map((c) => ({ name: String(c.name ?? ''), preStop: describePreStop(c) }));
  const findings: Finding[] = [];
  const passes: Finding[] = [];
  const m = withMesh(mesh);
  let timing: TimingModel;

  if (mesh === 'linkerd') {
    const native = found ? found.where === 'initContainers' : LINKERD_NATIVE_ANNOTATIONS.some((a) => String(annotations[a] ?? '') === 'true');
    // W: the proxy's preStop sleep as written, else what the injector will write from the annotation.
    const pre = proxy ? describePreStop(proxy) : { kind: 'none' as const };
    const annotated = typeof annotations[LINKERD_WAIT_ANNOTATION] === 'string' ? Number(annotations[LINKERD_WAIT_ANNOTATION]) : NaN;
    const wait = pre.kind === 'sleep' ? pre.seconds : Number.isInteger(annotated) && annotated >= 0 ? annotated : 0;
    const graceEnv = env(proxy, 'LINKERD2_PROXY_SHUTDOWN_GRACE_PERIOD');
    const drain = (graceEnv === undefined ? null : parseGoDuration(graceEnv)) ?? LINKERD_DEFAULT_SHUTDOWN_GRACE_SECONDS;
    timing = { mode: native ? 'native' : 'classic', graceSeconds: grace, graceDefaulted: typeof g !== 'number' && graceOverride === undefined, proxyWaitSeconds: wait, drainTimeoutSeconds: drain, apps: appModels, mesh, proxyName: PROXY.linkerd, ...(graceOverride !== undefined ? { graceOverridden: true } : {}) };
    const rules = evaluateTiming(native ? { ...timing, proxyWaitSeconds: 0 } : timing);
    // In native mode a wait is not ignored but refused by Linkerd (linkerd#12164): said once, below.
    findings.push(...rules.findings.filter((f) => f.code !== 'wait_ignored_in_native').map(m));
    passes.push(...rules.passes.map(m));
    if (native && wait > 0) {
      findings.push(m({ code: 'linkerd_native_wait_conflict', severity: 'error', params: { wait, field: pre.kind === 'sleep' ? `${PROXY.linkerd} preStop sleep` : LINKERD_WAIT_ANNOTATION } }));
    }
    if (isJobKind(kind) && !native) {
      const awaited = apps.filter((c) => usesLinkerdAwaitShutdown(c));
      if (awaited.length < apps.length) {
        findings.push(m({ code: 'linkerd_job_will_not_complete', severity: 'error', params: { kind, containers: apps.filter((c) => !usesLinkerdAwaitShutdown(c)).map((c) => String(c.name)).join(', ') } }));
      } else if (proxy && env(proxy, 'LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED') !== 'true' && annotations['config.alpha.linkerd.io/proxy-enable-shutdown-endpoint'] !== 'true') {
        findings.push(m({ code: 'linkerd_shutdown_endpoint_disabled', severity: 'error', params: { kind } }));
      }
    }
    return { mesh, timing, findings, passes };
  }

  // Istio.
  const native = found ? found.where === 'initContainers' : false;
  const cfg = istioProxyConfig(annotations, proxy);
  const rawDrain = cfg.terminationDrainDuration;
  const drain = (typeof rawDrain === 'string' ? parseGoDuration(rawDrain) : typeof rawDrain === 'number' ? rawDrain : null) ?? ISTIO_DEFAULT_DRAIN_SECONDS;
  const proxyPre = proxy ? describePreStop(proxy) : { kind: 'none' as const };
  const wait = proxyPre.kind === 'sleep' ? proxyPre.seconds : 0;
  timing = { mode: native ? 'native' : 'classic', graceSeconds: grace, graceDefaulted: typeof g !== 'number' && graceOverride === undefined, proxyWaitSeconds: wait, drainTimeoutSeconds: drain, apps: appModels, mesh, proxyName: PROXY.istio, proxyExitsAtDrainEnd: true, ...(graceOverride !== undefined ? { graceOverridden: true } : {}) };
  const exitOnZero = (env(proxy, 'EXIT_ON_ZERO_ACTIVE_CONNECTIONS') ?? '').toLowerCase() === 'true';
  const rules = evaluateTiming(timing);
  if (native) {
    findings.push(...rules.findings.map(m));
    passes.push(...rules.passes.map(m));
    return { mesh, timing, findings, passes };
  }
  // The app's own rules hold whatever the proxy does.
  const APP_RULES = new Set(['app_prestop_exceeds_grace', 'app_prestop_unchecked']);
  findings.push(...rules.findings.filter((f) => APP_RULES.has(f.code)).map(m));
  passes.push(...rules.passes.filter((f) => APP_RULES.has(f.code)).map(m));
  // Classic: the proxy gets TERM at W (0 without a preStop of its own) like the app, stops taking
  // new inbound connections, and is gone by W + D whatever the app is still doing.
  const end = wait + drain;
  const sleeps = appModels.map((a) => ({ name: a.name, s: a.preStop.kind === 'sleep' ? a.preStop.seconds : 0 }));
  for (const a of sleeps) {
    if (a.s === 0) continue;
    const f: Finding = m({ code: 'istio_proxy_gone_before_app', severity: 'error', container: a.name, params: { sleep: a.s, end, drain, wait } });
    (a.s >= end ? findings : passes).push(f);
  }
  if (wait === 0) findings.push(m({ code: 'istio_no_proxy_wait', severity: 'warning', params: { drain } }));
  const drainFits: Finding = m({ code: 'istio_drain_exceeds_grace', severity: 'warning', params: { end, grace } });
  (end <= grace ? passes : findings).push(drainFits);
  if (exitOnZero && sleeps.some((a) => a.s > 0)) {
    findings.push(m({ code: 'istio_exit_on_zero_connections', severity: 'warning', params: { longest: Math.max(...sleeps.map((a) => a.s)) } }));
  }
  const holds = cfg.holdApplicationUntilProxyStarts === true || String(annotations['sidecar.istio.io/holdApplicationUntilProxyStarts'] ?? '') === 'true'
    // The injector writes that setting as a postStart `pilot-agent wait` on istio-proxy.
    || (proxy !== undefined && JSON.stringify(proxy.lifecycle ?? {}).includes('pilot-agent'));
  if (!holds) findings.push(m({ code: 'istio_app_starts_before_proxy', severity: 'info', params: {} }));
  if (isJobKind(kind)) {
    const quits = apps.some((c) => JSON.stringify([c.command ?? [], c.args ?? []]).includes('quitquitquit'));
    if (!quits) findings.push(m({ code: 'istio_job_will_not_complete', severity: 'error', params: { kind } }));
  }
  return { mesh, timing, findings, passes };
}

/** Runs its command under `linkerd-await --shutdown` (command or args), as Linkerd's Job docs show. */
function usesLinkerdAwaitShutdown(c: JsonObject): boolean {
  const words = [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])].map(String);
  const i = words.findIndex((w) => /(^|\/)linkerd-await$/.test(w) || /linkerd-await\s/.test(w));
  if (i < 0) return false;
  return words.slice(i).some((w) => /(^|\s)--shutdown(\s|$)/.test(w));
}
