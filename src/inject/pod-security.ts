/**
 * Pod Security Admission against ebb-init. The init container that installs the iptables rules
 * (`--transparent true`, the default) adds the NET_ADMIN and NET_RAW capabilities and runs as root.
 * The Pod Security Standards' `baseline` level allows adding only a short list of capabilities
 * (NET_ADMIN and NET_RAW are not on it) and `restricted` also requires runAsNonRoot, so a namespace
 * labelled `pod-security.kubernetes.io/enforce: baseline|restricted` rejects every such pod. A
 * workload is still accepted (enforce judges pods, not templates): its controller's pods fail to
 * be created (FailedCreate events), which is easy to miss. Pure: objects in, findings out, for
 * inject and check alike.
 */
import { findProxy } from './rules.js';
import { INIT_CONTAINER } from './sidecar.js';
import { getIn, isObject, POD_TEMPLATE_PATHS, type JsonObject } from './workloads.js';
import type { Finding, ResourceReport } from './types.js';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const FORBIDDING: readonly string[] = ['baseline', 'restricted'];

/** Namespace name → its enforced level, for the Namespaces in the input that forbid ebb-init. */
function forbiddingNamespaces(objects: readonly unknown[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of objects) {
    if (!isObject(o) || o.kind !== 'Namespace') continue;
    const level = getIn(o, ['metadata', 'labels', ENFORCE_LABEL]);
    const name = getIn(o, ['metadata', 'name']);
    if (typeof level === 'string' && FORBIDDING.includes(level) && typeof name === 'string') out.set(name, level);
  }
  return out;
}

/** Does this pod spec run ebb-init (or an ebb proxy that relies on its rules)? */
function transparent(spec: JsonObject): boolean {
  const inits = Array.isArray(spec.initContainers) ? spec.initContainers.filter(isObject) : [];
  if (inits.some((c) => c.name === INIT_CONTAINER)) return true;
  const proxy = findProxy(spec);
  const env = proxy && Array.isArray(proxy.container.env) ? proxy.container.env.filter(isObject) : [];
  return env.some((e) => e.name === 'EBB_TRANSPARENT' && e.value === 'true');
}

/**
 * For each object (by index), the `pod_security_forbids_init` warnings: a transparent ebb workload
 * in a Namespace of the same input that enforces baseline or restricted, and such a Namespace that
 * inject enables for the webhook (whose pods get ebb-init when it injects transparently, its default;
 * not said with `transparent: false`, inject's own --transparent false).
 */
export function podSecurityFindings(objects: readonly unknown[], reports?: readonly ResourceReport[], opts: { transparent?: boolean } = {}): Map<number, Finding[]> {
  const out = new Map<number, Finding[]>();
  const namespaces = forbiddingNamespaces(objects);
  if (!namespaces.size) return out;
  objects.forEach((o, i) => {
    if (!isObject(o) || typeof o.kind !== 'string') return;
    const name = String(getIn(o, ['metadata', 'name']) ?? '');
    if (o.kind === 'Namespace') {
      const level = namespaces.get(name);
      if (level && opts.transparent !== false && reports?.[i]?.status === 'annotated') {
        out.set(i, [{ code: 'pod_security_forbids_init', severity: 'warning', params: { namespace: name, level, kind: 'Namespace', name } }]);
      }
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(POD_TEMPLATE_PATHS, o.kind)) return;
    const level = namespaces.get(String(getIn(o, ['metadata', 'namespace']) ?? ''));
    const spec = getIn(o, [...POD_TEMPLATE_PATHS[o.kind]!, 'spec']);
    if (!level || !isObject(spec) || !transparent(spec)) return;
    out.set(i, [{ code: 'pod_security_forbids_init', severity: 'warning',
      params: { namespace: String(getIn(o, ['metadata', 'namespace'])), level, kind: o.kind, name } }]);
  });
  return out;
}

/** `reports[i]` is the report of `objects[i]`: each gains its Pod Security warnings. */
export function withPodSecurityFindings(reports: readonly ResourceReport[], objects: readonly unknown[], opts: { transparent?: boolean } = {}): ResourceReport[] {
  const extra = podSecurityFindings(objects, reports, opts);
  return reports.map((r, i) => (extra.has(i) ? { ...r, findings: [...r.findings, ...extra.get(i)!] } : r));
}
