/**
 * Test support for the webhook: certificates in a temp dir, AdmissionReviews shaped like the API
 * server's, an HTTPS client that verifies the webhook by its Service name, and a fake API server
 * (HTTPS, bearer token) that serves Namespaces to @kubernetes/client-node.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { generate } from 'selfsigned';
import { generateWebhookCertificates, type WebhookCertificates } from '../../src/install/certs.js';
import type { AdmissionReview } from '../../src/webhook/review.js';
import { createLogger } from '../../src/log.js';
import { VERSION } from '../../src/version.js';
import { resolveInjectConfig, type InjectConfig } from '../../src/inject/index.js';
import { AdmissionServer } from '../../src/webhook/server.js';
import { createInjectorHandler } from '../../src/webhook/injector.js';
import { CachedNamespaceReader, kubeNamespaceFetcher, loadKubeConfig } from '../../src/webhook/namespaces.js';

/** The repository root (tests run from dist/test/…). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
/** Pods in the shapes the API server sends (test/fixtures/manifests/webhook, shipped with the repository). */
export const BUNDLED_WEBHOOK = join(REPO_ROOT, 'test/fixtures/manifests/webhook');
/** Other manifests shipped with the repository (Linkerd-injected, foreign annotations, …). */
export const BUNDLED_MANIFESTS = join(REPO_ROOT, 'test/fixtures/manifests');
/**
 * The shared corpus's webhook pods, where the shared corpus is beside the clone (an extra: a clone on
 * its own has none); undefined otherwise.
 */
export const SHARED_CORPUS_WEBHOOK = [
  resolve(REPO_ROOT, '../shared/corpus/linkerd2-inject-inputs/webhook'),
  resolve(REPO_ROOT, '../../shared/corpus/linkerd2-inject-inputs/webhook'),
  resolve(REPO_ROOT, '../../../shared/corpus/linkerd2-inject-inputs/webhook'),
].find((p) => existsSync(p));
export const FIXTURES = join(REPO_ROOT, 'test/fixtures/webhook');
export const SERVICE_NAME = 'ebb-injector.ebb-system.svc';

export function tempDir(prefix = 'ebb-webhook-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A CA and a serving certificate for the Service, written as tls.crt / tls.key / ca.crt in `dir`. */
export async function writeCertificates(dir: string): Promise<WebhookCertificates & { certFile: string; keyFile: string }> {
  const certs = await generateWebhookCertificates({ service: 'ebb-injector', namespace: 'ebb-system' });
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  writeFileSync(certFile, certs.cert);
  writeFileSync(keyFile, certs.key, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), certs.caCert);
  return { ...certs, certFile, keyFile };
}

export function readYaml(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown).filter((d) => d !== null);
}

/** An AdmissionReview for a Pod CREATE, as the API server sends it to a webhook. */
export function podCreateReview(pod: Record<string, unknown>, opts: { namespace?: string; uid?: string; operation?: string; dryRun?: boolean } = {}): AdmissionReview {
  const meta = (pod.metadata ?? {}) as { namespace?: string; name?: string };
  const namespace = opts.namespace ?? meta.namespace ?? 'default';
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: opts.uid ?? randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      ...(meta.name ? { name: meta.name } : {}),
      namespace,
      operation: opts.operation ?? 'CREATE',
      userInfo: { username: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', 'system:authenticated'] },
      object: { ...pod, apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, namespace } },
      oldObject: null as unknown as undefined,
      dryRun: opts.dryRun ?? false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

export interface HttpResult { status: number; headers: IncomingMessage['headers']; body: string; json?: AdmissionReview }

/** One HTTPS request on a fresh connection, verifying the server as the API server would. */
export function call(port: number, caCert: string, opts: { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, servername: SERVICE_NAME, ca: caCert, agent: false,
      method: opts.method ?? 'POST', path: opts.path ?? '/inject?timeout=10s',
      headers: { 'content-type': 'application/json', accept: 'application/json, */*', ...(opts.headers ?? {}) },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => {
        let json: AdmissionReview | undefined;
        if ((res.headers['content-type'] ?? '').startsWith('application/json')) json = JSON.parse(body) as AdmissionReview;
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function postReview(port: number, caCert: string, review: unknown): Promise<HttpResult> {
  return call(port, caCert, { body: JSON.stringify(review) });
}

export function decodePatch(b64: string | undefined): import('fast-json-patch').Operation[] {
  return b64 ? JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as import('fast-json-patch').Operation[] : [];
}

export type NamespaceBehaviour =
  | { annotations?: Record<string, string>; labels?: Record<string, string> }
  | { status: number; reason: string; message: string }
  | 'hang';

/**
 * A fake Kubernetes API server over HTTPS that answers GET /api/v1/namespaces/NAME from a table the
 * test edits, checks the bearer token, and records the requests. `kubeconfig` points at it.
 */
export async function startFakeApiServer(dir: string, namespaces: Record<string, NamespaceBehaviour>): Promise<{
  port: number; kubeconfig: string; requests: string[]; namespaces: Record<string, NamespaceBehaviour>; close: () => Promise<void>;
}> {
  const tls = await generate([{ name: 'commonName', value: 'fake-kube-apiserver' }], {
    keyType: 'ec', algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const token = `test-token-${randomUUID()}`;
  const requests: string[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer({ cert: tls.cert, key: tls.private }, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) {
      return json(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', message: 'Unauthorized', code: 401 });
    }
    const m = /^\/api\/v1\/namespaces\/([^/?]+)/.exec(req.url ?? '');
    const ns = m ? namespaces[decodeURIComponent(m[1]!)] : undefined;
    if (ns === 'hang') { hanging.push(res); return; }
    if (!m || ns === undefined) {
      return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', message: `namespaces "${m?.[1]}" not found`, code: 404 });
    }
    if ('status' in ns) return json(ns.status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: ns.reason, message: ns.message, code: ns.status });
    return json(200, {
      kind: 'Namespace', apiVersion: 'v1',
      metadata: { name: m[1], uid: randomUUID(), labels: { 'kubernetes.io/metadata.name': m[1], ...(ns.labels ?? {}) }, annotations: ns.annotations ?? {} },
      spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' },
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config',
    'clusters:', '- name: fake', '  cluster:', `    server: https://127.0.0.1:${port}`,
    `    certificate-authority-data: ${Buffer.from(tls.cert).toString('base64')}`,
    'users:', '- name: injector', '  user:', `    token: ${token}`,
    'contexts:', '- name: fake', '  context: {cluster: fake, user: injector}',
    'current-context: fake', '',
  ].join('\n'));
  return {
    port, kubeconfig, requests, namespaces,
    close: () => new Promise<void>((r) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Polls `fn` until it returns a truthy value; generous bound, no timing assertions. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An in-process injector (real HTTPS on 127.0.0.1:0) reading namespaces from a fake API server. */
export async function startInjector(namespaces: Record<string, NamespaceBehaviour>, opts: {
  maxBodyBytes?: number; namespaceTimeoutMs?: number; namespaceTtlMs?: number; settings?: Record<string, string>;
} = {}): Promise<{
  server: AdmissionServer; api: Awaited<ReturnType<typeof startFakeApiServer>>; ca: string; config: InjectConfig;
  dir: string; certFile: string; keyFile: string; close: () => Promise<void>;
}> {
  const tmp = tempDir();
  const certs = await writeCertificates(tmp.dir);
  const api = await startFakeApiServer(tmp.dir, namespaces);
  const { config, problems } = resolveInjectConfig(opts.settings ?? {}, { injectedBy: `ebb injector ${VERSION}` });
  if (problems.length) throw new Error(JSON.stringify(problems));
  const server = new AdmissionServer({
    handler: createInjectorHandler({
      config,
      namespaces: new CachedNamespaceReader(kubeNamespaceFetcher(loadKubeConfig(api.kubeconfig)), {
        timeoutMs: opts.namespaceTimeoutMs, ttlMs: opts.namespaceTtlMs,
      }),
    }),
    tlsCert: certs.certFile, tlsKey: certs.keyFile, port: 0, host: '127.0.0.1',
    maxBodyBytes: opts.maxBodyBytes, logger: createLogger('silent'),
  });
  await server.listen();
  return {
    server, api, ca: certs.caCert, config, dir: tmp.dir, certFile: certs.certFile, keyFile: certs.keyFile,
    close: async () => { await server.close(); await api.close(); tmp.cleanup(); },
  };
}
