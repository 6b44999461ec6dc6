/**
 * Services that bypass a non-transparent proxy. Without `ebb-init`'s rules the proxy sees only
 * connections to its own `ebb-in-<appPort>` ports; kube-proxy delivers a Service's traffic to the
 * pod IP and the Service's targetPort, so a targetPort that names (or numbers) an app port reaches
 * the app directly and ebb never sees it: no drain, and a /wait-quiet hook that answers "quiet"
 * while the app is still busy. Pure: objects in, findings out, for inject and check alike.
 */
import { findProxy } from './rules.js';
import { isObject, getIn, POD_TEMPLATE_PATHS, type JsonObject } from './workloads.js';
import { PROXY_CONTAINER } from './sidecar.js';
import type { Finding, ResourceReport } from './types.js';

function envOf(c: JsonObject, name: string): string | undefined {
  if (!Array.isArray(c.env)) return undefined;
  for (const e of c.env) if (isObject(e) && e.name === name && typeof e.value === 'string') return e.value;
  return undefined;
}

interface Workload { kind: string; name: string; namespace: string; labels: Record<string, unknown>; spec: JsonObject }

/** Workloads whose pod template runs ebb-proxy without transparent interception. */
function nonTransparentWorkloads(objects: readonly unknown[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    if (!isObject(o) || typeof o.kind !== 'string' || !Object.prototype.hasOwnProperty.call(POD_TEMPLATE_PATHS, o.kind)) continue;
    const tpl = getIn(o, POD_TEMPLATE_PATHS[o.kind]!);
    const spec = getIn(tpl, ['spec']);
    if (!isObject(spec)) continue;
    const proxy = findProxy(spec);
    if (!proxy || envOf(proxy.container, 'EBB_TRANSPARENT') === 'true') continue;
    const labels = getIn(tpl, ['metadata', 'labels']);
    out.push({
      kind: o.kind, name: String(getIn(o, ['metadata', 'name']) ?? ''),
      namespace: String(getIn(o, ['metadata', 'namespace']) ?? ''),
      labels: isObject(labels) ? labels : {}, spec,
    });
  }
  return out;
}

/** The app container port a targetPort reaches (by number or by name), or null (a proxy port, or nothing). */
function appPortReached(spec: JsonObject, target: unknown): number | null {
  for (const key of ['containers', 'initContainers'] as const) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c) || c.name === PROXY_CONTAINER || !Array.isArray(c.ports)) continue;
      if (key === 'initContainers' && c.restartPolicy !== 'Always') continue;
      for (const p of c.ports) {
        if (!isObject(p) || typeof p.containerPort !== 'number') continue;
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        if (typeof target === 'number' ? p.containerPort === target : p.name === target) return p.containerPort;
      }
    }
  }
  return null;
}

/**
 * For each Service (by index in `objects`), the `service_bypasses_proxy` warnings: one per port
 * whose targetPort reaches an app port of a non-transparent ebb workload the Service selects.
 */
export function serviceBypassFindings(objects: readonly unknown[]): Map<number, Finding[]> {
  const out = new Map<number, Finding[]>();
  const workloads = nonTransparentWorkloads(objects);
  if (!workloads.length) return out;
  objects.forEach((svc, i) => {
    if (!isObject(svc) || svc.kind !== 'Service') return;
    const selector = getIn(svc, ['spec', 'selector']);
    const ports = getIn(svc, ['spec', 'ports']);
    // A Service without a selector has no endpoints kube-proxy picks from pods: nothing to say.
    if (!isObject(selector) || Object.keys(selector).length === 0 || !Array.isArray(ports)) return;
    const ns = String(getIn(svc, ['metadata', 'namespace']) ?? '');
    const service = String(getIn(svc, ['metadata', 'name']) ?? '');
    const findings: Finding[] = [];
    for (const w of workloads) {
      if (w.namespace !== ns) continue;
      if (!Object.entries(selector).every(([k, v]) => w.labels[k] === v)) continue;
      for (const p of ports) {
        if (!isObject(p) || (p.protocol ?? 'TCP') !== 'TCP') continue;
        const target = p.targetPort ?? p.port;
        const appPort = appPortReached(w.spec, target);
        if (appPort === null) continue;
        findings.push({
          code: 'service_bypasses_proxy', severity: 'warning',
          params: { service, port: String(p.name ?? p.port), targetPort: String(target), appPort, workload: `${w.kind.toLowerCase()} "${w.name}"` },
        });
      }
    }
    if (findings.length) out.set(i, findings);
  });
  return out;
}

/** `reports[i]` is the report of `objects[i]`: each Service's report gains its bypass warnings. */
export function withServiceFindings(reports: readonly ResourceReport[], objects: readonly unknown[]): ResourceReport[] {
  const extra = serviceBypassFindings(objects);
  return reports.map((r, i) => (extra.has(i) ? { ...r, findings: [...r.findings, ...extra.get(i)!] } : r));
}
