/**
 * Namespace annotations for the injection decision, read through the Kubernetes API and cached.
 *
 * The AdmissionReview of a Pod carries the pod but not its namespace's annotations, so we read the
 * Namespace (RBAC: `get namespaces`). The read must never decide the admission: it has a short
 * timeout, a failure is reported to the caller as data (the handler turns it into a warning), and a
 * stale cached value is preferred over nothing when the API server is briefly unreachable.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../errors.js';

export interface NamespaceInfo {
  annotations: Record<string, string>;
  labels: Record<string, string>;
}

export type NamespaceLookup =
  | { ok: true; namespace: NamespaceInfo; source: 'cached' | 'fetched' }
  | { ok: true; namespace: NamespaceInfo; source: 'stale'; ageSeconds: number; error: string }
  | { ok: false; error: string; detail?: string };

export interface NamespaceReader {
  read(name: string): Promise<NamespaceLookup>;
}

export type NamespaceFetcher = (name: string, signal: AbortSignal) => Promise<NamespaceInfo>;

export interface CachedNamespaceReaderOptions {
  /** How long a successful read is reused. */
  ttlMs?: number;
  /** How long one read may take before it counts as failed. */
  timeoutMs?: number;
  /** Stale entries older than this are not used when a read fails. */
  maxStaleMs?: number;
  onLookup?: (result: 'cached' | 'fetched' | 'stale' | 'failed') => void;
  now?: () => number;
}

interface Entry { info: NamespaceInfo; at: number }

export class CachedNamespaceReader implements NamespaceReader {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<NamespaceLookup>>();
  private readonly ttl: number;
  private readonly timeout: number;
  private readonly maxStale: number;
  private readonly now: () => number;

  constructor(private readonly fetcher: NamespaceFetcher, private readonly opts: CachedNamespaceReaderOptions = {}) {
    this.ttl = opts.ttlMs ?? 30_000;
    this.timeout = opts.timeoutMs ?? 2_000;
    this.maxStale = opts.maxStaleMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  read(name: string): Promise<NamespaceLookup> {
    const hit = this.cache.get(name);
    if (hit && this.now() - hit.at < this.ttl) {
      this.opts.onLookup?.('cached');
      return Promise.resolve({ ok: true, namespace: hit.info, source: 'cached' });
    }
    // Pods of one ReplicaSet arrive together: one read serves them all.
    let p = this.inflight.get(name);
    if (!p) {
      p = this.fetch(name).finally(() => this.inflight.delete(name));
      this.inflight.set(name, p);
    }
    return p;
  }

  private async fetch(name: string): Promise<NamespaceLookup> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`timed out after ${this.timeout / 1000}s`)), this.timeout);
    try {
      const info = await Promise.race([
        this.fetcher(name, ac.signal),
        new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason as Error), { once: true })),
      ]);
      this.cache.set(name, { info, at: this.now() });
      this.opts.onLookup?.('fetched');
      return { ok: true, namespace: info, source: 'fetched' };
    } catch (err) {
      const error = describeApiError(err);
      const stale = this.cache.get(name);
      if (stale && this.now() - stale.at < this.maxStale) {
        this.opts.onLookup?.('stale');
        return { ok: true, namespace: stale.info, source: 'stale', ageSeconds: Math.round((this.now() - stale.at) / 1000), error };
      }
      this.opts.onLookup?.('failed');
      return { ok: false, error, detail: (err as Error)?.message };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A one-phrase reason for a failed read, short enough for an admission warning. */
export function describeApiError(err: unknown): string {
  const e = err as { code?: unknown; message?: string; cause?: { code?: string }; body?: unknown };
  if (typeof e?.code === 'number') {
    // @kubernetes/client-node's ApiException: the HTTP status and the Status reason (the full
    // message, often long, goes to the log through the caller).
    let reason = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) as { reason?: string } : e.body as { reason?: string };
      if (body?.reason) reason = ` ${body.reason}`;
    } catch { /* not JSON */ }
    return `HTTP ${e.code}${reason}`;
  }
  const sysCode = typeof e?.code === 'string' ? e.code : e?.cause?.code;
  if (typeof sysCode === 'string' && /^E[A-Z]+$/.test(sysCode)) return sysCode;
  const m = /\b(E[A-Z]{4,})\b/.exec(e?.message ?? '');
  if (m) return m[1]!;
  return e?.message ?? String(err);
}

/** Reads Namespaces with @kubernetes/client-node, authenticated as the KubeConfig says. */
export function kubeNamespaceFetcher(kc: KubeConfig): NamespaceFetcher {
  const api = kc.makeApiClient(CoreV1Api);
  return async (name) => {
    const ns = await api.readNamespace({ name });
    return { annotations: { ...(ns.metadata?.annotations ?? {}) }, labels: { ...(ns.metadata?.labels ?? {}) } };
  };
}

/** Where a pod's service account credentials are mounted (the in-cluster config). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigSources {
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  /** Prefix of SERVICE_ACCOUNT_DIR (tests put a fake one under a temp dir). */
  readonly root?: string;
}

/**
 * The kubeconfig, in kubectl's order: `file` when given, else $KUBECONFIG, else ~/.kube/config, else
 * the in-cluster config (KUBERNETES_SERVICE_HOST and the service account token). With none of them,
 * a ConfigError that names each way to give one; client-node would otherwise fall back to
 * http://localhost:8080, and every namespace read would fail later, one warning per admission.
 */
export function resolveKubeConfig(file?: string, src: KubeConfigSources = {}): { kc: KubeConfig; from: string } {
  const env = src.env ?? process.env;
  const home = src.home ?? homedir();
  const root = src.root ?? '';
  const kc = new KubeConfig();
  if (file) { kc.loadFromFile(file); return { kc, from: `--kubeconfig ${file}` }; }
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length > 0) {
    const missing = fromEnv.filter((f) => !existsSync(f));
    if (missing.length === fromEnv.length) throw new ConfigError([`KUBECONFIG names ${missing.join(', ')}, which ${missing.length === 1 ? 'does' : 'do'} not exist`]);
    const [first, ...rest] = fromEnv.filter((f) => existsSync(f));
    kc.loadFromFile(first!);
    for (const f of rest) { const more = new KubeConfig(); more.loadFromFile(f); kc.mergeConfig(more); }
    return { kc, from: `KUBECONFIG ${env.KUBECONFIG}` };
  }
  const homeConfig = join(home, '.kube', 'config');
  if (existsSync(homeConfig)) { kc.loadFromFile(homeConfig); return { kc, from: homeConfig }; }
  const token = `${root}${SERVICE_ACCOUNT_DIR}/token`;
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(token)) {
    kc.loadFromCluster(root);
    return { kc, from: 'in-cluster (service account)' };
  }
  throw new ConfigError([
    'ebb injector reads namespace annotations through the Kubernetes API, but no kubeconfig was found. Give it one of: ' +
    `--kubeconfig FILE; the KUBECONFIG environment variable; ${homeConfig}; or run it in a cluster ` +
    `(KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT set and a service account token at ${SERVICE_ACCOUNT_DIR}/token, ` +
    'as `ebb install`\'s Deployment does)',
  ]);
}

/** The kubeconfig: a file when given, else KUBECONFIG, ~/.kube/config, in-cluster (see resolveKubeConfig). */
export function loadKubeConfig(file?: string): KubeConfig {
  return resolveKubeConfig(file).kc;
}
