import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { AdmissionServer } from '../../src/webhook/server.js';
import { call, podCreateReview, postReview, tempDir, writeCertificates } from './support.js';

test('a handler that throws denies that one review with its message; metrics count outcomes, reasons and latency', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const certs = await writeCertificates(tmp.dir);
  let calls = 0;
  const server = new AdmissionServer({
    handler: (req) => {
      calls++;
      if ((req.object as { metadata?: { name?: string } }).metadata?.name === 'boom') {
        throw Object.assign(new Error('config map "x" is corrupt'), { code: 'corrupt_config' });
      }
      return { allowed: true, reason: 'fine', patch: [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }], warnings: ['w '.repeat(100)] };
    },
    tlsCert: certs.certFile, tlsKey: certs.keyFile, port: 0, host: '127.0.0.1', logger: createLogger('silent'),
  });
  t.after(() => server.close());
  await server.listen();

  const boom = await postReview(server.port, certs.caCert, podCreateReview({ metadata: { name: 'boom' }, spec: { containers: [] } }));
  assert.equal(boom.status, 200);
  const denied = boom.json!.response!;
  assert.equal(denied.allowed, false);
  assert.equal(denied.patch, undefined);
  assert.equal(denied.status?.code, 500);
  assert.equal(denied.status?.message, 'ebb injector: config map "x" is corrupt');

  const ok = (await postReview(server.port, certs.caCert, podCreateReview({ metadata: { name: 'ok' }, spec: { containers: [] } }))).json!.response!;
  assert.equal(ok.allowed, true);
  assert.equal(ok.patchType, 'JSONPatch');
  assert.equal(ok.warnings?.length, 1);
  assert.ok(ok.warnings![0]!.length <= 120, 'long warnings are cut to 120 characters');
  assert.equal((await call(server.port, certs.caCert, { body: 'nope' })).status, 400);
  assert.equal(calls, 2);

  const m = await call(server.port, certs.caCert, { method: 'GET', path: '/metrics' });
  assert.equal(m.status, 200);
  assert.match(m.body, /ebb_webhook_admissions_total\{outcome="denied",reason="corrupt_config"\} 1/);
  assert.match(m.body, /ebb_webhook_admissions_total\{outcome="patched",reason="fine"\} 1/);
  assert.match(m.body, /ebb_webhook_admissions_total\{outcome="rejected",reason="invalid_json"\} 1/);
  assert.match(m.body, /ebb_webhook_admission_duration_seconds_count\{outcome="patched"\} 1/);
  assert.match(m.body, /ebb_webhook_admission_duration_seconds_bucket\{le="\+Inf",outcome="denied"\} 1/);
});
