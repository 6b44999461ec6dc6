import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podCreateReview, postReview, startInjector } from './support.js';

const app = (annotations?: Record<string, string>): Record<string, unknown> => ({
  metadata: { name: 'app', ...(annotations ? { annotations } : {}) },
  // A preStop sleep keeps the timing rules quiet, so the only warnings are about the namespace.
  spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { sleep: { seconds: 5 } } } }] },
});

test('RBAC denies the namespace read: pods are decided by their own annotations, and the response says so', async (t) => {
  const inj = await startInjector({
    locked: { status: 403, reason: 'Forbidden', message: 'namespaces "locked" is forbidden: User "system:serviceaccount:ebb-system:ebb-injector" cannot get resource "namespaces"' },
  });
  t.after(() => inj.close());

  const silent = (await postReview(inj.server.port, inj.ca, podCreateReview(app(), { namespace: 'locked' }))).json!.response!;
  assert.equal(silent.allowed, true);
  assert.equal(silent.patch, undefined);
  assert.deepEqual(silent.warnings, ['ebb: namespace_unavailable: namespace "locked" unreadable (HTTP 403 Forbidden); decided from the pod\'s annotations only']);

  const optedIn = (await postReview(inj.server.port, inj.ca, podCreateReview(app({ 'ebb.io/inject': 'enabled' }), { namespace: 'locked' }))).json!.response!;
  assert.equal(optedIn.allowed, true);
  assert.equal(optedIn.patchType, 'JSONPatch', 'a pod that opted in is still injected');
  assert.ok(optedIn.warnings?.includes('ebb: namespace_unavailable: namespace "locked" unreadable (HTTP 403 Forbidden); config.ebb.io/ settings not applied'),
    JSON.stringify(optedIn.warnings));
  assert.ok(inj.api.requests.includes('GET /api/v1/namespaces/locked'));
});

test('the API server is down: admission goes on, with the connection error in the warning', async (t) => {
  const inj = await startInjector({});
  t.after(() => inj.close());
  await inj.api.close();
  const res = (await postReview(inj.server.port, inj.ca, podCreateReview(app({ 'ebb.io/inject': 'enabled' }), { namespace: 'shop' }))).json!.response!;
  assert.equal(res.allowed, true);
  assert.equal(res.patchType, 'JSONPatch');
  assert.ok(res.warnings?.some((w) => /^ebb: namespace_unavailable: namespace "shop" unreadable \(ECONNREFUSED\)/.test(w)), JSON.stringify(res.warnings));
});

test('the API server hangs: the read times out and admission goes on', async (t) => {
  const inj = await startInjector({ slow: 'hang' }, { namespaceTimeoutMs: 300 });
  t.after(() => inj.close());
  const res = (await postReview(inj.server.port, inj.ca, podCreateReview(app(), { namespace: 'slow' }))).json!.response!;
  assert.equal(res.allowed, true);
  assert.equal(res.patch, undefined);
  assert.deepEqual(res.warnings, ['ebb: namespace_unavailable: namespace "slow" unreadable (timed out after 0.3s); decided from the pod\'s annotations only']);
});

test('a failed re-read falls back to the last annotations seen, and says how old they are', async (t) => {
  const inj = await startInjector({ flaky: { annotations: { 'ebb.io/inject': 'enabled' } } }, { namespaceTtlMs: 0 });
  t.after(() => inj.close());
  const first = (await postReview(inj.server.port, inj.ca, podCreateReview(app(), { namespace: 'flaky' }))).json!.response!;
  assert.equal(first.patchType, 'JSONPatch');
  assert.equal(first.warnings, undefined);
  inj.api.namespaces.flaky = { status: 500, reason: 'InternalError', message: 'etcdserver: request timed out' };
  const second = (await postReview(inj.server.port, inj.ca, podCreateReview(app(), { namespace: 'flaky' }))).json!.response!;
  assert.equal(second.patchType, 'JSONPatch', 'still injected from the cached annotations');
  assert.equal(second.warnings?.length, 1);
  assert.match(second.warnings![0]!, /^ebb: namespace_unavailable: namespace "flaky" unreadable \(HTTP 500 InternalError\); used its annotations from \d+s ago$/);
});

test('namespace reads are cached: a burst of pods from one ReplicaSet costs one read', async (t) => {
  const inj = await startInjector({ busy: { annotations: { 'ebb.io/inject': 'enabled' } } });
  t.after(() => inj.close());
  const results = await Promise.all(Array.from({ length: 5 }, () => postReview(inj.server.port, inj.ca, podCreateReview(app(), { namespace: 'busy' }))));
  for (const r of results) assert.equal(r.json!.response!.patchType, 'JSONPatch');
  assert.equal(inj.api.requests.filter((r) => r === 'GET /api/v1/namespaces/busy').length, 1);
});
