/**
 * The injector: the one handler the admission server holds. It decides *whether* a pod is
 * injected (pod annotation, else its namespace's) and with which settings (flags, then the
 * namespace's `config.ebb.io/…`, then the pod's — inject() applies the pod's itself); *how* is
 * inject()'s job, exactly as for `ebb inject`. Every outcome is `allowed: true`: a pod we cannot or
 * should not inject is admitted as it is, with a warning that says why.
 */
import type { Logger } from '../log.js';
import { AdmissionReviewError } from '../errors.js';
import {
  ANNOTATIONS, PROXY_CONTAINER, applySettings, findingSentence, inject, reasonSentence,
  type Finding, type InjectConfig, type ReasonCode,
} from '../inject/index.js';
import { overridesFromAnnotations } from '../inject/config.js';
import type { AdmissionDecision, AdmissionHandler } from './server.js';
import type { AdmissionRequest } from './review.js';
import { MAX_WARNING_CHARS } from './review.js';
import type { NamespaceReader } from './namespaces.js';

export interface InjectorHandlerOptions {
  /** The injector's settings from its flags (the defaults every pod starts from). */
  config: InjectConfig;
  /** Namespace annotations; absent = no API access (every pod is decided from its own annotations). */
  namespaces?: NamespaceReader;
  log?: Logger;
}

/** Reasons only the webhook produces (inject()'s own are in src/inject/messages.ts). */
export const WEBHOOK_REASONS = {
  already_injected: () => `the pod already has ${PROXY_CONTAINER} (or the ${ANNOTATIONS.proxyVersion} annotation)`,
} as const;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function annotationsOf(obj: unknown): Record<string, unknown> {
  const meta = isObject(obj) ? obj.metadata : undefined;
  const ann = isObject(meta) ? meta.annotations : undefined;
  return isObject(ann) ? ann : {};
}

/**
 * One warning as kubectl prints it (`Warning: …`): `ebb: <code>: <sentence>`, at most 120
 * characters. A long sentence loses its trailing ": consequence" clauses first, so the fact and the
 * code stay; only then is it cut.
 */
export function formatWarning(code: string, sentence: string, prefix = 'ebb: '): string {
  let text = `${prefix}${code}: ${sentence}`.replace(/\s+/g, ' ').trim();
  const head = `${prefix}${code}: `.length;
  while (text.length > MAX_WARNING_CHARS) {
    const cut = text.lastIndexOf(': ');
    if (cut <= head) break;
    text = text.slice(0, cut);
  }
  return text.length <= MAX_WARNING_CHARS ? text : `${text.slice(0, MAX_WARNING_CHARS - 1)}…`;
}

export function findingWarning(f: Finding): string {
  return formatWarning(f.code, findingSentence(f));
}

function skipSentence(code: string, params: Record<string, string | number>): string {
  if (code in WEBHOOK_REASONS) return WEBHOOK_REASONS[code as keyof typeof WEBHOOK_REASONS]();
  try { return reasonSentence(code as ReasonCode, params); } catch { return code; }
}

function skipped(code: string, params: Record<string, string | number>, warnings: string[]): AdmissionDecision {
  return { allowed: true, reason: code, warnings: [...warnings, formatWarning(code, skipSentence(code, params), 'ebb: not injected, ')] };
}

type InjectValue = 'enabled' | 'disabled' | undefined;

function readInjectAnnotation(ann: Record<string, unknown>, where: string, warnings: string[]): InjectValue {
  const v = ann[ANNOTATIONS.inject];
  if (v === undefined) return undefined;
  if (v === 'enabled' || v === 'disabled') return v;
  warnings.push(formatWarning('invalid_value', `${ANNOTATIONS.inject}: ${JSON.stringify(v)} on the ${where} is not enabled or disabled; ignored`));
  return undefined;
}

function alreadyInjected(pod: Json): boolean {
  const spec = isObject(pod.spec) ? pod.spec : {};
  for (const key of ['containers', 'initContainers']) {
    const list = spec[key];
    if (Array.isArray(list) && list.some((c) => isObject(c) && c.name === PROXY_CONTAINER)) return true;
  }
  return annotationsOf(pod)[ANNOTATIONS.proxyVersion] !== undefined;
}

function isPodCreate(req: AdmissionRequest): 'pod' | 'unsupported_kind' | 'unsupported_operation' {
  const k = req.kind;
  if (k.group !== '' || k.kind !== 'Pod' || (req.subResource ?? '') !== '') return 'unsupported_kind';
  if (req.operation !== 'CREATE') return 'unsupported_operation';
  return 'pod';
}

export function createInjectorHandler(opts: InjectorHandlerOptions): AdmissionHandler {
  return async (req): Promise<AdmissionDecision> => {
    const what = isPodCreate(req);
    // Not ours to change (the webhook configuration only sends Pod CREATEs; anything else passes).
    if (what !== 'pod') return { allowed: true, reason: what };
    const pod = req.object;
    if (!isObject(pod)) throw new AdmissionReviewError('missing_object', 'a Pod CREATE review must carry request.object');

    const warnings: string[] = [];
    const podSays = readInjectAnnotation(annotationsOf(pod), 'pod', warnings);
    if (podSays === 'disabled') return skipped('inject_disabled', { annotation: `${ANNOTATIONS.inject} (pod)` }, warnings);

    // The namespace decides when the pod is silent, and its config.ebb.io/… apply either way.
    const nsName = req.namespace || (isObject(pod.metadata) && typeof pod.metadata.namespace === 'string' ? pod.metadata.namespace : '');
    let nsAnnotations: Record<string, unknown> = {};
    let nsLabels: Record<string, unknown> = {};
    let nsUnknown = false;
    if (nsName) {
      const found = opts.namespaces
        ? await opts.namespaces.read(nsName)
        : { ok: false as const, error: 'no Kubernetes API access configured' };
      if (found.ok) {
        nsAnnotations = found.namespace.annotations;
        nsLabels = found.namespace.labels;
        if (found.source === 'stale') {
          warnings.push(formatWarning('namespace_unavailable',
            `namespace "${nsName}" unreadable (${found.error}); used its annotations from ${found.ageSeconds}s ago`));
        }
      } else {
        nsUnknown = true;
        opts.log?.warn({ namespace: nsName, err: found.error, detail: 'detail' in found ? found.detail : undefined }, 'namespace read failed; deciding from the pod alone');
        warnings.push(formatWarning('namespace_unavailable', podSays === 'enabled'
          ? `namespace "${nsName}" unreadable (${found.error}); config.ebb.io/ settings not applied`
          : `namespace "${nsName}" unreadable (${found.error}); decided from the pod's annotations only`));
      }
    }
    // The namespace's annotation, else its label: the label is how `ebb install`'s namespaceSelector
    // opts a namespace in, so a pod sent here from a labelled namespace is injected without more.
    const nsSays = readInjectAnnotation(nsAnnotations, `namespace "${nsName}"`, warnings)
      ?? readInjectAnnotation(nsLabels, `namespace "${nsName}" (label)`, warnings);
    const decision = podSays ?? nsSays;
    if (decision === 'disabled') return skipped('inject_disabled', { annotation: `${ANNOTATIONS.inject} (namespace "${nsName}")` }, warnings);
    if (decision !== 'enabled') {
      // Nobody asked for ebb: admitted quietly (plus the namespace warning when we could not tell).
      return { allowed: true, reason: nsUnknown ? 'namespace_unavailable' : 'not_enabled', warnings };
    }
    if (alreadyInjected(pod)) return skipped('already_injected', {}, warnings);

    const { config, problems } = applySettings(opts.config, overridesFromAnnotations(nsAnnotations));
    for (const p of problems) {
      warnings.push(formatWarning('invalid_value', `namespace annotation config.ebb.io/${p.flag}=${JSON.stringify(p.value)} ignored: ${p.problem}`));
    }
    // The API server sends the object with its TypeMeta; be lenient if a caller left it out.
    const object = typeof pod.kind === 'string' ? pod : { ...pod, apiVersion: 'v1', kind: 'Pod' };
    const { patch, report } = inject(object, config);
    if (report.status !== 'injected') {
      return skipped(report.reason ?? report.status, { ...(report.reasonParams ?? {}) }, warnings);
    }
    for (const f of report.findings) if (f.severity !== 'info') warnings.push(findingWarning(f));
    return { allowed: true, reason: 'injected', patch, warnings };
  };
}
