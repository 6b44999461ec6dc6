import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fjp from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { runEbb } from '../helpers.js';
import { createLogger } from '../../src/log.js';
import { VERSION } from '../../src/version.js';
import { injectObject, resolveInjectConfig, type InjectConfig } from '../../src/inject/index.js';
import { AdmissionServer } from '../../src/webhook/server.js';
import { createInjectorHandler } from '../../src/webhook/injector.js';
import { CachedNamespaceReader, kubeNamespaceFetcher, loadKubeConfig } from '../../src/webhook/namespaces.js';
import type { AdmissionReview } from '../../src/webhook/review.js';
import {
  BUNDLED_WEBHOOK, SHARED_CORPUS_WEBHOOK, FIXTURES, decodePatch, podCreateReview, postReview, readYaml, startFakeApiServer,
  tempDir, writeCertificates,
} from './support.js';

let tmp: ReturnType<typeof tempDir>;
let api: Awaited<ReturnType<typeof startFakeApiServer>>;
let server: AdmissionServer;
let ca: string;
let config: InjectConfig;

before(async () => {
  tmp = tempDir();
  const certs = await writeCertificates(tmp.dir);
  ca = certs.caCert;
  api = await startFakeApiServer(tmp.dir, {
    shop: { annotations: { 'ebb.io/inject': 'enabled' } },
    'kube-public': { annotations: { 'ebb.io/inject': 'enabled' } },
  });
  const resolved = resolveInjectConfig({}, { injectedBy: `ebb injector ${VERSION}` });
  assert.deepEqual(resolved.problems, []);
  config = resolved.config;
  server = new AdmissionServer({
    handler: createInjectorHandler({
      config,
      namespaces: new CachedNamespaceReader(kubeNamespaceFetcher(loadKubeConfig(api.kubeconfig))),
    }),
    tlsCert: certs.certFile, tlsKey: certs.keyFile, port: 0, host: '127.0.0.1',
    logger: createLogger('silent'),
  });
  await server.listen();
});

after(async () => {
  await server?.close();
  await api?.close();
  tmp?.cleanup();
});

/** Sends the review, applies the returned JSONPatch to request.object, and compares with inject(). */
async function admitAndCompare(review: AdmissionReview): Promise<{ warnings: string[] }> {
  const r = await postReview(server.port, ca, review);
  assert.equal(r.status, 200, r.body);
  const response = r.json!.response!;
  assert.equal(r.json!.apiVersion, 'admission.k8s.io/v1');
  assert.equal(r.json!.kind, 'AdmissionReview');
  assert.equal(response.uid, review.request!.uid);
  assert.equal(response.allowed, true);
  assert.equal(response.patchType, 'JSONPatch');
  const object = review.request!.object;
  const patched = fjp.applyPatch(fjp.deepClone(object), decodePatch(response.patch), true, false).newDocument;
  assert.deepEqual(patched, injectObject(object, config).object, 'webhook patch and inject() disagree');
  new Pod(patched as ConstructorParameters<typeof Pod>[0]).validate();
  return { warnings: response.warnings ?? [] };
}

test('a ReplicaSet pod CREATE in an enabled namespace gets the same proxy as inject(), with timing warnings', async () => {
  const review = JSON.parse(readFileSync(join(FIXTURES, 'pod-create-from-replicaset.review.json'), 'utf8')) as AdmissionReview;
  const { warnings } = await admitAndCompare(review);
  // The fixture's app sleeps 45 s in preStop with a 40 s grace period.
  assert.ok(warnings.some((w) => w.startsWith('ebb: app_prestop_exceeds_grace: ')), warnings.join('\n'));
  for (const w of warnings) assert.ok(w.length <= 120, `warning over 120 characters: ${w}`);
  assert.ok(api.requests.includes('GET /api/v1/namespaces/shop'), 'namespace read through the API');
});

for (const file of ['pod-plain.yaml', 'pod-empty-annotations.yaml', 'pod-with-own-native-sidecar.yaml']) {
  test(`bundled webhook/${file}: the webhook's patch equals inject() for the same pod`, async () => {
    const [pod] = readYaml(join(BUNDLED_WEBHOOK, file)) as Record<string, unknown>[];
    await admitAndCompare(podCreateReview(pod!));
  });
}

// An extra where the shared corpus is beside the clone (manifests written by others).
for (const file of ['pod-inject-empty.yaml', 'pod-inject-enabled.yaml', 'pod-nativesidecar-inject-enabled.yaml']) {
  const skip = SHARED_CORPUS_WEBHOOK === undefined ? 'extra not run: no shared corpus beside the clone; the bundled webhook pods ran' : false;
  test(`shared corpus webhook/${file}: the webhook's patch equals inject() for the same pod (extra)`, { skip }, async () => {
    const [pod] = readYaml(join(SHARED_CORPUS_WEBHOOK!, file)) as Record<string, unknown>[];
    await admitAndCompare(podCreateReview(pod!));
  });
}

test('a pod annotated ebb.io/inject: enabled is injected in a namespace that says nothing', async () => {
  api.namespaces.plain = {};
  const pod = {
    metadata: { name: 'solo', annotations: { 'ebb.io/inject': 'enabled' } },
    spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }] },
  };
  await admitAndCompare(podCreateReview(pod, { namespace: 'plain' }));
});

test('namespace config.ebb.io/ settings apply, and the pod\'s own override them', async () => {
  api.namespaces.tuned = { annotations: { 'ebb.io/inject': 'enabled', 'config.ebb.io/mode': 'classic', 'config.ebb.io/wait-before-exit-seconds': '20' } };
  const pod = {
    metadata: { name: 'tuned', annotations: { 'config.ebb.io/wait-before-exit-seconds': '10' } },
    spec: {
      terminationGracePeriodSeconds: 60,
      containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { sleep: { seconds: 5 } } } }],
    },
  };
  const review = podCreateReview(pod, { namespace: 'tuned' });
  const r = await postReview(server.port, ca, review);
  assert.equal(r.json!.response!.allowed, true);
  const patched = fjp.applyPatch(fjp.deepClone(review.request!.object), decodePatch(r.json!.response!.patch)).newDocument as {
    spec: { containers: { name: string; env?: { name: string; value?: string }[] }[]; initContainers?: unknown[] };
  };
  // classic (from the namespace): the proxy is the first regular container, not an init container.
  assert.equal(patched.spec.containers[0]!.name, 'ebb-proxy');
  // Equal to inject() run with the namespace's settings as flags; the pod's annotation wins inside inject().
  const expected = injectObject(review.request!.object, resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '20' }, { injectedBy: `ebb injector ${VERSION}` }).config).object;
  assert.deepEqual(patched, expected);
  const wait10 = injectObject(review.request!.object, resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '10' }, { injectedBy: `ebb injector ${VERSION}` }).config).object;
  assert.deepEqual(patched, wait10, 'the pod\'s config.ebb.io/wait-before-exit-seconds (10) beats the namespace\'s (20)');
});

test('the webhook\'s patched pod equals what the `ebb inject` CLI prints for the same pod (only injected-by differs)', async () => {
  const review = JSON.parse(readFileSync(join(FIXTURES, 'pod-create-from-replicaset.review.json'), 'utf8')) as AdmissionReview;
  const reviews = [review, ...['pod-plain.yaml', 'pod-with-own-native-sidecar.yaml'].map((f) => podCreateReview((readYaml(join(BUNDLED_WEBHOOK, f)) as Record<string, unknown>[])[0]!))];
  for (const rv of reviews) {
    const r = await postReview(server.port, ca, rv);
    const fromWebhook = fjp.applyPatch(fjp.deepClone(rv.request!.object), decodePatch(r.json!.response!.patch)).newDocument as { metadata: { annotations: Record<string, string> } };
    const cli = await runEbb(['inject', '-o', 'json', '-'], { input: JSON.stringify(rv.request!.object) });
    assert.equal(cli.code, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout) as { metadata: { annotations: Record<string, string> } };
    // The one intended difference: who injected it.
    assert.equal(fromWebhook.metadata.annotations['ebb.io/injected-by'], `ebb injector ${VERSION}`);
    assert.equal(fromCli.metadata.annotations['ebb.io/injected-by'], `ebb inject ${VERSION}`);
    fromWebhook.metadata.annotations['ebb.io/injected-by'] = fromCli.metadata.annotations['ebb.io/injected-by'];
    assert.deepEqual(fromWebhook, fromCli);
  }
});
