/**
 * inject(object, config) → { patch, report } and its inverse uninject(object): the only code path
 * for adding ebb to a pod template. Pure: the input is never mutated, nothing is read from outside.
 * The CLI applies the patch to the manifest it read; the webhook returns it to the API server.
 */
import fjp from 'fast-json-patch';
import { applySettings, CONFIG_ANNOTATION_PREFIX, kubeAtLeast, overridesFromAnnotations, unknownSettingAnnotations } from './config.js';
import { PatchBuilder, type Path } from './patch.js';
import { evaluateTiming, findProxy, loopbackHostFindings, namedPortFindings, portFindings, sanityFindings, timingModel } from './rules.js';
import { appPorts, DEFAULT_GRACE_SECONDS, initContainer, INIT_CONTAINER, OUTBOUND_PORT, proxyContainer, PROXY_CONTAINER } from './sidecar.js';
import { applyJobExit, jobExitCheck, jobExitRefusal } from './jobs.js';
import { applyAppWait, waitQuietMax } from './app-wait.js';
import { describePreStop } from './prestop.js';
import { checkMesh, meshOf } from './meshes.js';
import { getIn, identity, isObject, parsePointer, pointer, POD_TEMPLATE_PATHS, type Json, type JsonObject } from './workloads.js';
import type { Finding, InjectConfig, InjectResult, ResourceReport, ResourceStatus } from './types.js';
import type { ReasonCode } from './messages.js';

export * from './types.js';
export { DEFAULT_INJECT_CONFIG, resolveInjectConfig, applySettings, SETTINGS, CONFIG_ANNOTATION_PREFIX } from './config.js';
export { REASONS, FINDINGS, reasonSentence, findingSentence, findingFix, passSentence, resourceLabel } from './messages.js';
export type { ReasonCode, FindingCode } from './messages.js';
export { POD_TEMPLATE_PATHS } from './workloads.js';
export { PROXY_CONTAINER } from './sidecar.js';

export const ANNOTATIONS = {
  inject: 'ebb.io/inject',
  proxyVersion: 'ebb.io/proxy-version',
  injectedBy: 'ebb.io/injected-by',
  /** What inject created or changed beyond the sidecar itself, as JSON, so uninject can undo exactly that. */
  undo: 'ebb.io/inject-undo',
} as const;
/** Labels naming the owning workload: ebb.io/proxy-<kind>: <name>. */
export const WORKLOAD_LABEL_PREFIX = 'ebb.io/proxy-';

/** Sidecars and init containers of other meshes: ebb must not stack on top of them. */
export const OTHER_MESH_CONTAINERS: readonly string[] = ['linkerd-proxy', 'linkerd-init', 'linkerd-network-validator', 'istio-proxy', 'istio-init', 'istio-validation'];

/**
 * One undo entry, relative to the metadata owner (pod template or Namespace). `ifEmpty`: remove only
 * if the object/array there is empty (inject created it; someone may have added to it since).
 * Later features (shareProcessNamespace, app preStop hooks, command wrapping) record themselves here:
 * `{ op: 'replace', path, value }` restores a previous value, `{ op: 'remove', path }` drops an added one;
 * `container` makes `path` relative to the named container.
 */
export interface UndoEntry { op: 'remove' | 'replace'; path: string; ifEmpty?: boolean; value?: Json; container?: string }

type Params = Record<string, string | number>;

function report(obj: unknown, status: ResourceStatus, extra: Partial<ResourceReport> = {}): ResourceReport {
  return { ...identity(obj), status, findings: [], passes: [], ...extra };
}

function refused(obj: unknown, reason: ReasonCode, reasonParams: Params = {}): InjectResult {
  return { patch: [], report: report(obj, 'refused', { reason, reasonParams }) };
}

function skipped(obj: unknown, reason: ReasonCode, reasonParams: Params = {}, status: ResourceStatus = 'skipped'): InjectResult {
  return { patch: [], report: report(obj, status, { reason, reasonParams }) };
}

/** unknown_setting warnings for the config.ebb.io/ annotations that name no setting (workload's and template's). */
function unknownSettingFindings(...maps: JsonObject[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const m of maps) {
    for (const u of unknownSettingAnnotations(m)) {
      if (seen.has(u.annotation)) continue;
      seen.add(u.annotation);
      out.push({ code: 'unknown_setting', severity: 'warning', params: u.suggestion ? { annotation: u.annotation, suggestion: u.suggestion } : { annotation: u.annotation } });
    }
  }
  return out;
}

function annotationsAt(root: unknown, metaPath: Path): JsonObject {
  const a = getIn(root, [...metaPath, 'annotations']);
  return isObject(a) ? a : {};
}

function isNonNegativeInteger(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** Values in the manifest that must be whole, non-negative seconds (else refused, never wrapped). */
function invalidManifestValue(spec: JsonObject): Params | null {
  const g = spec.terminationGracePeriodSeconds;
  if (g !== undefined && g !== null && !isNonNegativeInteger(g)) {
    return { field: 'terminationGracePeriodSeconds', value: JSON.stringify(g), problem: 'must be a whole number of seconds >= 0' };
  }
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c)) continue;
      const s = getIn(c, ['lifecycle', 'preStop', 'sleep', 'seconds']);
      if (s !== undefined && !isNonNegativeInteger(s)) {
        return { field: `container "${String(c.name)}" lifecycle.preStop.sleep.seconds`, value: JSON.stringify(s), problem: 'must be a whole number of seconds >= 0' };
      }
    }
  }
  return null;
}

function otherMesh(spec: JsonObject): string | null {
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (isObject(c) && typeof c.name === 'string' && OTHER_MESH_CONTAINERS.includes(c.name)) return c.name;
  }
  return null;
}

function isInjected(tpl: unknown): boolean {
  const spec = getIn(tpl, ['spec']);
  return (isObject(spec) && findProxy(spec) !== null) || annotationsAt(tpl, ['metadata'])[ANNOTATIONS.proxyVersion] !== undefined;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Removes what inject added under the metadata owner at `owner` (a pod template or a Namespace). */
function undoAt(b: PatchBuilder, owner: Path): boolean {
  const before = b.ops.length;
  const meta = [...owner, 'metadata'];
  const ann = annotationsAt(b.doc, meta);
  let undo: UndoEntry[] = [];
  if (typeof ann[ANNOTATIONS.undo] === 'string') {
    try {
      const parsed: unknown = JSON.parse(ann[ANNOTATIONS.undo] as string);
      if (Array.isArray(parsed)) undo = parsed.filter((e): e is UndoEntry => isObject(e) && typeof e.path === 'string' && (e.op === 'remove' || e.op === 'replace'));
    } catch { /* a hand-edited record: fall back to removing the fixed additions only */ }
  }
  const spec = b.get([...owner, 'spec']);
  if (isObject(spec)) {
    for (const key of ['initContainers', 'containers'] as const) {
      const list = b.get([...owner, 'spec', key]);
      if (!Array.isArray(list)) continue;
      for (let i = list.length - 1; i >= 0; i--) {
        const name = isObject(list[i]) ? (list[i] as JsonObject).name : undefined;
        if (name === PROXY_CONTAINER || (key === 'initContainers' && name === INIT_CONTAINER)) b.remove([...owner, 'spec', key, i]);
      }
    }
  }
  for (const key of [ANNOTATIONS.proxyVersion, ANNOTATIONS.injectedBy, ANNOTATIONS.undo]) {
    if (b.has([...meta, 'annotations', key])) b.remove([...meta, 'annotations', key]);
  }
  const labels = b.get([...meta, 'labels']);
  if (isObject(labels)) {
    for (const key of Object.keys(labels)) if (key.startsWith(WORKLOAD_LABEL_PREFIX)) b.remove([...meta, 'labels', key]);
  }
  for (const e of [...undo].reverse()) {
    let base: Path = owner;
    if (e.container !== undefined) {
      const found = (['containers', 'initContainers'] as const).map((key) => {
        const list = b.get([...owner, 'spec', key]);
        const i = Array.isArray(list) ? list.findIndex((c) => isObject(c) && c.name === e.container) : -1;
        return i >= 0 ? [...owner, 'spec', key, i] : null;
      }).find((p) => p !== null);
      if (!found) continue;
      base = found;
    }
    let rel: string[];
    try { rel = parsePointer(e.path); } catch { continue; }
    const path: Path = [...base, ...rel.map((s, i) => Array.isArray(b.get([...base, ...rel.slice(0, i)])) ? Number(s) : s)];
    if (e.op === 'remove') {
      if (!b.has(path)) continue;
      const v = b.get(path);
      if (e.ifEmpty && !((Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0))) continue;
      b.remove(path);
    } else if (e.value !== undefined) {
      b.set(path, e.value);
    }
  }
  return b.ops.length > before;
}

function templatePath(obj: JsonObject): Path | null {
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  return Object.prototype.hasOwnProperty.call(POD_TEMPLATE_PATHS, kind) ? (POD_TEMPLATE_PATHS[kind] as Path) : null;
}

function rel(owner: Path, path: Path): string {
  return pointer(path.slice(owner.length));
}

function injectNamespace(obj: JsonObject, config: InjectConfig): InjectResult {
  const ann = annotationsAt(obj, ['metadata']);
  const lab = getIn(obj, ['metadata', 'labels']);
  const labels = isObject(lab) ? lab : {};
  if (ann[ANNOTATIONS.inject] === 'disabled' || labels[ANNOTATIONS.inject] === 'disabled') return skipped(obj, 'inject_disabled', { annotation: ANNOTATIONS.inject });
  // The label is what the webhook's namespaceSelector matches (ebb install); the annotation is
  // what the injector and older installs read. Both, so either kind of install injects here.
  if (ann[ANNOTATIONS.inject] === 'enabled' && labels[ANNOTATIONS.inject] === 'enabled') return skipped(obj, 'already_enabled', {}, 'unchanged');
  const b = new PatchBuilder(obj);
  const undo: UndoEntry[] = b.ensureObject(['metadata', 'annotations']).map((p) => ({ op: 'remove', path: rel([], p), ifEmpty: true }));
  if (ann[ANNOTATIONS.inject] !== 'enabled') {
    b.set(['metadata', 'annotations', ANNOTATIONS.inject], 'enabled');
    b.set(['metadata', 'annotations', ANNOTATIONS.injectedBy], config.injectedBy);
  }
  if (labels[ANNOTATIONS.inject] !== 'enabled') {
    for (const p of b.ensureObject(['metadata', 'labels'])) undo.push({ op: 'remove', path: rel([], p), ifEmpty: true });
    b.set(['metadata', 'labels', ANNOTATIONS.inject], 'enabled');
    undo.push({ op: 'remove', path: rel([], ['metadata', 'labels', ANNOTATIONS.inject]) });
  }
  if (undo.length) b.set(['metadata', 'annotations', ANNOTATIONS.undo], JSON.stringify([...prevUndo(ann), ...undo]));
  return { patch: b.ops, report: report(obj, 'annotated') };
}

/** The undo record already on an object (an earlier inject of the same Namespace), to extend. */
function prevUndo(ann: JsonObject): UndoEntry[] {
  if (typeof ann[ANNOTATIONS.undo] !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(ann[ANNOTATIONS.undo] as string);
    return Array.isArray(parsed) ? parsed.filter((e): e is UndoEntry => isObject(e) && typeof e.path === 'string') : [];
  } catch { return []; }
}

/**
 * Adds the ebb proxy to the object's pod template (or annotates a Namespace). Already-injected
 * templates are uninjected first, so inject(inject(x)) == inject(x).
 */
export function inject(object: unknown, config: InjectConfig): InjectResult {
  if (!isObject(object) || typeof object.kind !== 'string') return skipped(object, 'not_an_object');
  if (object.kind === 'Namespace') return injectNamespace(object, config);
  const tplPath = templatePath(object);
  if (!tplPath) return skipped(object, 'unsupported_kind', { kind: object.kind });
  const specPath = [...tplPath, 'spec'];
  const spec0 = getIn(object, specPath);
  if (!isObject(spec0) || !Array.isArray(spec0.containers)) return skipped(object, 'no_pod_template', { path: pointer(specPath) || '/' });

  // Settings: flags, then config.ebb.io/… on the workload, then on the pod template (closest wins).
  const tplAnn = annotationsAt(object, [...tplPath, 'metadata']);
  const ownAnn = tplPath.length ? annotationsAt(object, ['metadata']) : {};
  for (const a of [tplAnn, ownAnn]) {
    if (a[ANNOTATIONS.inject] === 'disabled') return skipped(object, 'inject_disabled', { annotation: ANNOTATIONS.inject });
  }
  const settled = applySettings(config, { ...overridesFromAnnotations(ownAnn), ...overridesFromAnnotations(tplAnn) });
  const { problems } = settled;
  const cfg = withImpliedProxyWait(settled.config);
  if (problems.length === 1) {
    const p = problems[0]!;
    return refused(object, 'invalid_value', { field: CONFIG_ANNOTATION_PREFIX + p.flag, value: JSON.stringify(p.value), problem: p.problem });
  }
  // Every bad setting at once, so one round of fixes is enough.
  if (problems.length) {
    return refused(object, 'invalid_values', { count: problems.length, list: problems.map((p) => `${CONFIG_ANNOTATION_PREFIX}${p.flag} is ${JSON.stringify(p.value)}: ${p.problem}`).join('; ') });
  }
  if (spec0.hostNetwork === true) return refused(object, 'host_network');
  const mesh = otherMesh(spec0);
  if (mesh) return refused(object, 'other_mesh', { container: mesh });
  const invalid = invalidManifestValue(spec0);
  if (invalid) return refused(object, 'invalid_value', invalid);
  if (cfg.mode === 'native' && !kubeAtLeast(cfg.kubeVersion, 1, 29)) return refused(object, 'native_needs_kube_1_29', { kubeVersion: cfg.kubeVersion });
  const jobRefusal = jobExitRefusal(object.kind, spec0, cfg);
  if (jobRefusal) return refused(object, jobRefusal.reason, jobRefusal.params);

  const b = new PatchBuilder(object);
  const reinjected = isInjected(getIn(object, tplPath)) ? undoAt(b, tplPath) || true : false;
  const spec = b.get(specPath) as JsonObject;

  const ports = appPorts(spec).tcp.map((p) => p.port);
  const proxyPorts = new Map<number, string>([[cfg.adminPort, 'admin-port']]);
  ports.forEach((_, i) => proxyPorts.set(cfg.inboundPort + i, 'inbound-port'));
  if (cfg.transparent) proxyPorts.set(OUTBOUND_PORT, 'outbound-port');
  for (const p of ports) {
    if (proxyPorts.has(p)) return refused(object, 'port_conflict', { port: p, flag: proxyPorts.get(p)! });
  }

  const g = spec.terminationGracePeriodSeconds;
  const grace = typeof g === 'number' ? g : DEFAULT_GRACE_SECONDS;
  // Native: the proxy gets TERM once the app has exited, at the earliest after the longest app
  // preStop (a sleep, or the /wait-quiet hook --app-wait auto writes): its drain must fit after that.
  const appHooks = (Array.isArray(spec.containers) ? spec.containers : []).filter(isObject).filter((c) => c.name !== PROXY_CONTAINER).map((c) => {
    const pre = describePreStop(c);
    if (pre.kind === 'sleep') return pre.seconds;
    return pre.kind === 'none' && cfg.appWait === 'auto' ? waitQuietMax(cfg, grace) : 0;
  });
  const container = proxyContainer({ config: cfg, ports, graceSeconds: grace, appPreStopSeconds: Math.max(0, ...appHooks) });

  const meta = [...tplPath, 'metadata'];
  const undo: UndoEntry[] = [];
  for (const p of b.ensureObject([...meta, 'annotations'])) undo.push({ op: 'remove', path: rel(tplPath, p), ifEmpty: true });

  if (cfg.mode === 'native') {
    if (b.ensureArray([...specPath, 'initContainers'])) undo.push({ op: 'remove', path: rel(tplPath, [...specPath, 'initContainers']), ifEmpty: true });
    b.add([...specPath, 'initContainers', 0], container);
  } else {
    b.add([...specPath, 'containers', 0], container);
  }
  if (cfg.transparent) {
    // First of all init containers: the rules must be in place before any other container runs.
    if (b.ensureArray([...specPath, 'initContainers'])) undo.push({ op: 'remove', path: rel(tplPath, [...specPath, 'initContainers']), ifEmpty: true });
    b.add([...specPath, 'initContainers', 0], initContainer(cfg, ports.length));
  }
  const jobFindings = applyJobExit(b, object.kind, tplPath, cfg, undo);
  applyAppWait(b, specPath, cfg, grace, undo);

  b.set([...meta, 'annotations', ANNOTATIONS.proxyVersion], cfg.proxyVersion);
  b.set([...meta, 'annotations', ANNOTATIONS.injectedBy], cfg.injectedBy);
  if (cfg.mode === 'classic' && cfg.waitBeforeExitSeconds > 0) {
    const key = `${CONFIG_ANNOTATION_PREFIX}wait-before-exit-seconds`;
    if (!b.has([...meta, 'annotations', key])) {
      b.set([...meta, 'annotations', key], String(cfg.waitBeforeExitSeconds));
      undo.push({ op: 'remove', path: rel(tplPath, [...meta, 'annotations', key]) });
    }
  }
  const { name } = identity(object);
  if (tplPath.length && name && name.length <= 63 && LABEL_VALUE.test(name)) {
    for (const p of b.ensureObject([...meta, 'labels'])) undo.push({ op: 'remove', path: rel(tplPath, p), ifEmpty: true });
    b.set([...meta, 'labels', WORKLOAD_LABEL_PREFIX + object.kind.toLowerCase()], name);
  }
  if (undo.length) b.set([...meta, 'annotations', ANNOTATIONS.undo], JSON.stringify(undo));

  const finalSpec = b.get(specPath) as JsonObject;
  const timing = timingModel(finalSpec);
  const rules = evaluateTiming(timing, { requestedWaitSeconds: cfg.mode === 'native' ? cfg.waitBeforeExitSeconds : 0, takesTraffic: appPorts(finalSpec).tcp.length > 0 });
  const findings: Finding[] = [...rules.findings, ...portFindings(finalSpec), ...namedPortFindings(finalSpec), ...loopbackHostFindings(finalSpec), ...jobFindings, ...unknownSettingFindings(ownAnn, tplAnn)];
  return {
    patch: b.ops,
    report: report(object, 'injected', { reinjected, findings, passes: rules.passes, timing }),
  };
}

/**
 * Classic mode, `--app-wait auto` and no proxy wait at all: the app would wait for quiet traffic
 * while the proxy stopped accepting at once (TERM at 0), which check rejects
 * (app_prestop_not_shorter). The app's wait only works behind a proxy that serves as long, so the
 * proxy gets the auto wait too (`--wait-before-exit auto`, fitted to the grace period).
 */
function withImpliedProxyWait(cfg: InjectConfig): InjectConfig {
  if (cfg.mode !== 'classic' || cfg.appWait !== 'auto' || cfg.proxyWaitAuto || cfg.waitBeforeExitSeconds > 0) return cfg;
  return Object.freeze({ ...cfg, proxyWaitAuto: 'auto' });
}

/** Removes everything inject added (and nothing else). A resource ebb never touched is `unchanged`. */
export function uninject(object: unknown): InjectResult {
  if (!isObject(object) || typeof object.kind !== 'string') return skipped(object, 'not_an_object');
  const b = new PatchBuilder(object);
  if (object.kind === 'Namespace') {
    const ann = annotationsAt(object, ['metadata']);
    if (ann[ANNOTATIONS.injectedBy] === undefined && ann[ANNOTATIONS.undo] === undefined) return skipped(object, 'not_injected', {}, 'unchanged');
    // The annotation is ours only when inject wrote it (injected-by); a user's own stays.
    if (ann[ANNOTATIONS.injectedBy] !== undefined && b.has(['metadata', 'annotations', ANNOTATIONS.inject])) b.remove(['metadata', 'annotations', ANNOTATIONS.inject]);
    undoAt(b, []);
    return { patch: b.ops, report: report(object, 'uninjected') };
  }
  const tplPath = templatePath(object);
  if (!tplPath) return skipped(object, 'unsupported_kind', { kind: object.kind });
  if (!isObject(getIn(object, tplPath)) || !isInjected(getIn(object, tplPath))) return skipped(object, 'not_injected', {}, 'unchanged');
  undoAt(b, tplPath);
  return b.ops.length ? { patch: b.ops, report: report(object, 'uninjected') } : skipped(object, 'not_injected', {}, 'unchanged');
}

export interface CheckOptions {
  /** `--grace-period S`: check a deletion with this grace period (kubectl delete --grace-period, an eviction's). */
  readonly graceSeconds?: number;
}

/**
 * `ebb check` on one resource: the rules on the template as written when ebb is in it; otherwise
 * the rules on what `inject` with `config` would write (and a `not_injected` note).
 */
export function check(object: unknown, config: InjectConfig, opts: CheckOptions = {}): ResourceReport {
  if (!isObject(object) || typeof object.kind !== 'string') return report(object, 'skipped', { reason: 'not_an_object' });
  const tplPath = templatePath(object);
  if (!tplPath) return report(object, 'skipped', { reason: 'unsupported_kind', reasonParams: { kind: object.kind } });
  const tpl = getIn(object, tplPath);
  const spec = getIn(tpl, ['spec']);
  if (!isObject(spec) || !Array.isArray(spec.containers)) return report(object, 'skipped', { reason: 'no_pod_template', reasonParams: { path: pointer([...tplPath, 'spec']) || '/' } });
  const tplLabels = getIn(tpl, ['metadata', 'labels']);
  const mesh = findProxy(spec) ? null : meshOf(spec, annotationsAt(tpl, ['metadata']), isObject(tplLabels) ? tplLabels : {});
  if (mesh) {
    // Another mesh's workload: never injected by ebb, but its shutdown is checked all the same.
    const invalid = invalidManifestValue(spec);
    if (invalid) return report(object, 'refused', { reason: 'invalid_value', reasonParams: invalid });
    const m = checkMesh(mesh, object.kind, spec, annotationsAt(tpl, ['metadata']), opts.graceSeconds);
    return report(object, 'injected', { findings: m.findings, passes: m.passes, timing: m.timing });
  }
  if (isInjected(tpl)) {
    const invalid = invalidManifestValue(spec);
    if (invalid) return report(object, 'refused', { reason: 'invalid_value', reasonParams: invalid });
    const timing = timingModel(spec, opts);
    const rules = evaluateTiming(timing, { takesTraffic: appPorts(spec).tcp.length > 0 });
    const findings = [...sanityFindings(spec, annotationsAt(tpl, ['metadata']), config.proxyVersion), ...rules.findings, ...portFindings(spec),
      ...namedPortFindings(spec), ...loopbackHostFindings(spec), ...jobExitCheck(object.kind, spec), ...unknownSettingFindings(tplPath.length ? annotationsAt(object, ['metadata']) : {}, annotationsAt(tpl, ['metadata']))];
    return report(object, 'injected', { findings, passes: rules.passes, timing });
  }
  const injected = inject(object, config);
  let r = injected.report;
  if (r.status !== 'injected') return r;
  // A grace override changes the deletion, not what inject writes: check the injected template under it.
  if (opts.graceSeconds !== undefined) r = { ...check(applyPatch(object, injected.patch), config, opts), reinjected: r.reinjected ?? false };
  const effectiveMode = r.timing?.mode === 'classic' ? 'classic' : 'native';
  return { ...r, status: 'unchanged', reason: 'not_injected', findings: [{ code: 'not_injected', severity: 'info', params: { mode: effectiveMode } }, ...r.findings] };
}

/** Applies a patch from inject()/uninject() to a copy of `object` (the input is not touched). */
export function applyPatch<T = unknown>(object: T, patch: readonly import('fast-json-patch').Operation[]): T {
  return fjp.applyPatch(fjp.deepClone(object), fjp.deepClone(patch) as import('fast-json-patch').Operation[], false, true).newDocument as T;
}

/** inject() plus applying its patch: the injected object and the report. */
export function injectObject<T = unknown>(object: T, config: InjectConfig): { object: T; report: ResourceReport } {
  const r = inject(object, config);
  return { object: applyPatch(object, r.patch), report: r.report };
}

/** uninject() plus applying its patch. */
export function uninjectObject<T = unknown>(object: T): { object: T; report: ResourceReport } {
  const r = uninject(object);
  return { object: applyPatch(object, r.patch), report: r.report };
}
