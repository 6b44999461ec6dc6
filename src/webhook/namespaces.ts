/**
 * Namespace annotations for the injection decision, read through the Kubernetes API and cached.
 *
 * The AdmissionReview of a Pod carries the pod but not its namespace's annotations, so we read the
 * Namespace (RBAC: `get namespaces`). The read must never decide the admission: it has a short
 * timeout, a failure is reported to the caller as data (the handler turns it into a warning), and a
 * stale cached value is preferred over nothing when the API server is briefly unreachable.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

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

/** The kubeconfig: a file when given, else the default chain (KUBECONFIG, ~/.kube/config, in-cluster). */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}
