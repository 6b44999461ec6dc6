import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { injectObject } from '../../src/inject/index.js';
import type { AdmissionReview } from '../../src/webhook/review.js';
import { BUNDLED_MANIFESTS, podCreateReview, postReview, readYaml, startInjector } from './support.js';

let inj: Awaited<ReturnType<typeof startInjector>>;

before(async () => {
  inj = await startInjector({
    on: { annotations: { 'ebb.io/inject': 'enabled' } },
    off: { annotations: { 'ebb.io/inject': 'disabled' } },
    quiet: {},
  });
});
after(async () => { await inj?.close(); });

const app = (extra: Record<string, unknown> = {}, annotations?: Record<string, string>): Record<string, unknown> => ({
  metadata: { name: 'app', ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }], ...extra },
});

async function admit(review: AdmissionReview): Promise<{ allowed: boolean; patch?: string; warnings: string[] }> {
  const r = await postReview(inj.server.port, inj.ca, review);
  assert.equal(r.status, 200, r.body);
  const res = r.json!.response!;
  assert.equal(res.uid, review.request!.uid);
  return { allowed: res.allowed, patch: res.patch, warnings: res.warnings ?? [] };
}

function assertSkipped(r: { allowed: boolean; patch?: string; warnings: string[] }, code: string): void {
  assert.equal(r.allowed, true);
  assert.equal(r.patch, undefined, 'no patch for a skipped pod');
  const hit = r.warnings.filter((w) => w.startsWith(`ebb: not injected, ${code}: `));
  assert.equal(hit.length, 1, `one warning naming ${code}, got: ${JSON.stringify(r.warnings)}`);
  for (const w of r.warnings) assert.ok(w.length <= 120, w);
}

test('a pod annotated ebb.io/inject: disabled is admitted unchanged, with a warning, even in an enabled namespace', async () => {
  assertSkipped(await admit(podCreateReview(app({}, { 'ebb.io/inject': 'disabled' }), { namespace: 'on' })), 'inject_disabled');
});

test('a namespace annotated disabled skips its pods with a warning', async () => {
  const r = await admit(podCreateReview(app(), { namespace: 'off' }));
  assertSkipped(r, 'inject_disabled');
  assert.match(r.warnings[0]!, /namespace "off"/);
});

test('hostNetwork pods are admitted unchanged with a host_network warning', async () => {
  assertSkipped(await admit(podCreateReview(app({ hostNetwork: true }), { namespace: 'on' })), 'host_network');
});

test('a pod with another mesh\'s sidecar (a Linkerd-injected Deployment\'s pod) is admitted unchanged with a warning', async () => {
  const [deployment] = readYaml(join(BUNDLED_MANIFESTS, 'linkerd-injected-deployment.yaml')) as { spec: { template: Record<string, unknown> } }[];
  assertSkipped(await admit(podCreateReview(deployment!.spec.template, { namespace: 'on' })), 'other_mesh');
});

test('an already injected pod (reinvocation) is admitted unchanged with an already_injected warning', async () => {
  const review = podCreateReview(app(), { namespace: 'on' });
  const injected = injectObject(review.request!.object, inj.config).object as Record<string, unknown>;
  assertSkipped(await admit(podCreateReview(injected, { namespace: 'on' })), 'already_injected');
});

test('a pod nobody asked to inject is admitted unchanged without any warning', async () => {
  const r = await admit(podCreateReview(app(), { namespace: 'quiet' }));
  assert.deepEqual(r, { allowed: true, patch: undefined, warnings: [] });
});

test('an ebb.io/inject value other than enabled/disabled is ignored with a warning', async () => {
  const r = await admit(podCreateReview(app({}, { 'ebb.io/inject': 'yes' }), { namespace: 'quiet' }));
  assert.equal(r.allowed, true);
  assert.equal(r.patch, undefined);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /^ebb: invalid_value: ebb\.io\/inject: "yes" on the pod/);
});

test('a foreign linkerd.io/inject: disabled means nothing to ebb: the pod is injected in an enabled namespace', async () => {
  const [deployment] = readYaml(join(BUNDLED_MANIFESTS, 'foreign-inject-disabled.yaml')) as { spec: { template: Record<string, unknown> } }[];
  const r = await admit(podCreateReview(deployment!.spec.template, { namespace: 'on' }));
  assert.equal(r.allowed, true);
  assert.ok(r.patch, 'patched');
});

test('an unknown kind in the review (a Deployment) is allowed unchanged', async () => {
  const [deployment] = readYaml(join(BUNDLED_MANIFESTS, 'linkerd-injected-deployment.yaml')) as Record<string, unknown>[];
  const review = podCreateReview({}, { namespace: 'on' });
  review.request!.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
  review.request!.resource = { group: 'apps', version: 'v1', resource: 'deployments' };
  review.request!.object = deployment;
  assert.deepEqual(await admit(review), { allowed: true, patch: undefined, warnings: [] });
});

test('a Pod UPDATE is allowed unchanged (only CREATE is injected)', async () => {
  const review = podCreateReview(app(), { namespace: 'on', operation: 'UPDATE' });
  review.request!.oldObject = review.request!.object;
  assert.deepEqual(await admit(review), { allowed: true, patch: undefined, warnings: [] });
});

test('a pods/ephemeralcontainers subresource request is allowed unchanged', async () => {
  const review = podCreateReview(app(), { namespace: 'on' });
  review.request!.subResource = 'ephemeralcontainers';
  assert.deepEqual(await admit(review), { allowed: true, patch: undefined, warnings: [] });
});
