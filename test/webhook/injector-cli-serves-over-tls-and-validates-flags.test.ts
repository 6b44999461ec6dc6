import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fjp from 'fast-json-patch';
import { runEbb, startEbb } from '../helpers.js';
import { injectObject, resolveInjectConfig } from '../../src/inject/index.js';
import { VERSION } from '../../src/version.js';
import type { AdmissionReview } from '../../src/webhook/review.js';
import { FIXTURES, call, decodePatch, postReview, startFakeApiServer, tempDir, writeCertificates } from './support.js';

test('ebb injector: binds port 0, logs "listening", injects a real review, serves /metrics, exits 0 on SIGTERM', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const certs = await writeCertificates(tmp.dir);
  const api = await startFakeApiServer(tmp.dir, { shop: { annotations: { 'ebb.io/inject': 'enabled' } } });
  t.after(() => api.close());

  const child = startEbb(['injector', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--port', '0', '--host', '127.0.0.1',
    '--kubeconfig', api.kubeconfig, '--mode', 'classic', '--wait-before-exit-seconds', '50']);
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      for (const line of stderr.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && typeof j.port === 'number') resolve(j.port);
        } catch { /* partial line */ }
      }
    });
    child.on('exit', (code) => reject(new Error(`injector exited ${code}: ${stderr}`)));
  });

  const review = JSON.parse(readFileSync(join(FIXTURES, 'pod-create-from-replicaset.review.json'), 'utf8')) as AdmissionReview;
  const r = await postReview(port, certs.caCert, review);
  assert.equal(r.status, 200, r.body);
  const res = r.json!.response!;
  assert.equal(res.allowed, true);
  const patched = fjp.applyPatch(fjp.deepClone(review.request!.object), decodePatch(res.patch)).newDocument;
  const flags = resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '50' }, { injectedBy: `ebb injector ${VERSION}` }).config;
  assert.deepEqual(patched, injectObject(review.request!.object, flags).object, 'flags reach inject() as they do for ebb inject');
  // Classic, W=50 > grace 40, app sleep 45 < 50: the timing rules speak, one short warning each.
  assert.ok(res.warnings?.some((w) => w.startsWith('ebb: wait_exceeds_grace: ')), JSON.stringify(res.warnings));
  for (const w of res.warnings ?? []) assert.ok(w.length <= 120);

  const m = await call(port, certs.caCert, { method: 'GET', path: '/metrics' });
  assert.match(m.body, /ebb_webhook_admissions_total\{outcome="patched",reason="injected"\} 1/);
  assert.match(m.body, /ebb_webhook_namespace_lookups_total\{result="fetched"\} 1/);

  child.kill('SIGTERM');
  const [code] = await once(child, 'exit') as [number | null];
  assert.equal(code, 0, stderr);
});

test('ebb injector: every bad flag is reported at once with exit 64, before anything binds', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const a = await writeCertificates(tmp.dir);
  const other = tempDir();
  t.after(() => other.cleanup());
  const b = await writeCertificates(other.dir);
  const r = await runEbb(['injector', '--tls-cert', a.certFile, '--tls-key', b.keyFile, '--port', '70000', '--mode', 'sideways', '--wait-before-exit-seconds', '-3']);
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, /do not form a usable pair/);
  assert.match(r.stderr, /--port: "70000"/);
  assert.match(r.stderr, /--mode: "sideways"/);
  assert.match(r.stderr, /--wait-before-exit-seconds: "-3"/);
  assert.doesNotMatch(r.stderr, /"msg":"listening"/);

  const missing = await runEbb(['injector']);
  assert.equal(missing.code, 64);
  assert.match(missing.stderr, /--tls-cert is required/);
  assert.match(missing.stderr, /--tls-key is required/);
});
