import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, podCreateReview, postReview, startInjector } from './support.js';

let inj: Awaited<ReturnType<typeof startInjector>>;

before(async () => { inj = await startInjector({ on: { annotations: { 'ebb.io/inject': 'enabled' } } }, { maxBodyBytes: 64 * 1024 }); });
after(async () => { await inj?.close(); });

const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }] } };

async function expect400(body: string | Buffer, pattern: RegExp, headers?: Record<string, string>): Promise<void> {
  const r = await call(inj.server.port, inj.ca, { body, headers });
  assert.equal(r.status, 400, r.body);
  assert.match(r.body, pattern);
  // Still serving afterwards.
  const ok = await postReview(inj.server.port, inj.ca, podCreateReview(pod, { namespace: 'on' }));
  assert.equal(ok.status, 200);
}

test('a body that is not JSON gets 400 with the parse error', async () => {
  await expect400('{"apiVersion": "admission.k8s.io/v1", "kind": ', /request body is not JSON/);
});

test('a review without request.uid gets 400', async () => {
  const review = podCreateReview(pod, { namespace: 'on' }) as unknown as { request: Record<string, unknown> };
  delete review.request.uid;
  await expect400(JSON.stringify(review), /no uid/);
});

test('an empty request.uid gets 400', async () => {
  const review = podCreateReview(pod, { namespace: 'on', uid: '' });
  await expect400(JSON.stringify(review), /no uid/);
});

test('a review without request gets 400', async () => {
  await expect400(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }), /no request/);
});

test('an admission.k8s.io/v1beta1 review gets 400 naming the version we speak', async () => {
  const review = { ...podCreateReview(pod, { namespace: 'on' }), apiVersion: 'admission.k8s.io/v1beta1' };
  await expect400(JSON.stringify(review), /unsupported apiVersion "admission.k8s.io\/v1beta1".*admission\.k8s\.io\/v1/);
});

test('a JSON array, or another kind, gets 400', async () => {
  await expect400('[]', /not a JSON object/);
  await expect400(JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }), /expected kind AdmissionReview, got "Pod"/);
});

test('a request without kind/operation gets 400', async () => {
  const review = podCreateReview(pod, { namespace: 'on' }) as unknown as { request: Record<string, unknown> };
  delete review.request.kind;
  await expect400(JSON.stringify(review), /request\.kind/);
});

test('a Pod CREATE without request.object gets 400', async () => {
  const review = podCreateReview(pod, { namespace: 'on' }) as unknown as { request: Record<string, unknown> };
  delete review.request.object;
  await expect400(JSON.stringify(review), /must carry request\.object/);
});

test('a body over the size cap gets 400 with the limit', async () => {
  const review = podCreateReview({ ...pod, metadata: { name: 'p', annotations: { big: 'x'.repeat(200 * 1024) } } }, { namespace: 'on' });
  await expect400(JSON.stringify(review), /over the 65536-byte limit/);
});

test('a non-JSON content type gets 400', async () => {
  await expect400(JSON.stringify(podCreateReview(pod, { namespace: 'on' })), /application\/json/, { 'content-type': 'text/plain' });
});

test('GET on the admission path is 405, unknown paths 404; /healthz answers ok', async () => {
  assert.equal((await call(inj.server.port, inj.ca, { method: 'GET' })).status, 405);
  assert.equal((await call(inj.server.port, inj.ca, { method: 'GET', path: '/nope' })).status, 404);
  const h = await call(inj.server.port, inj.ca, { method: 'GET', path: '/healthz' });
  assert.equal(h.status, 200);
  assert.equal(h.body, 'ok\n');
});
