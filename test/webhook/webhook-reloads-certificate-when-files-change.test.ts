import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createLogger } from '../../src/log.js';
import { generateWebhookCertificates } from '../../src/install/certs.js';
import { AdmissionServer } from '../../src/webhook/server.js';
import { SERVICE_NAME, eventually, tempDir } from './support.js';

const newCerts = (): ReturnType<typeof generateWebhookCertificates> => generateWebhookCertificates({ service: 'ebb-injector', namespace: 'ebb-system' });
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** The fingerprint of the certificate a fresh TLS connection is served (verified against `ca`). */
function servedFingerprint(port: number, ca: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: SERVICE_NAME, ca }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function startServer(certFile: string, keyFile: string): AdmissionServer {
  return new AdmissionServer({
    handler: () => ({ allowed: true, reason: 'test' }),
    tlsCert: certFile, tlsKey: keyFile, port: 0, host: '127.0.0.1',
    logger: createLogger('silent'),
    tlsPollMs: 0, // prove the directory watch alone picks the change up
  });
}

test('a Kubernetes Secret volume update (..data symlink swapped atomically) is served on new connections', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const v1 = await newCerts();
  const v2 = await newCerts();
  // The layout the kubelet writes: timestamped dir, ..data -> it, tls.crt -> ..data/tls.crt.
  const write = (name: string, c: typeof v1): void => {
    mkdirSync(join(tmp.dir, name));
    writeFileSync(join(tmp.dir, name, 'tls.crt'), c.cert);
    writeFileSync(join(tmp.dir, name, 'tls.key'), c.key);
  };
  write('..2026_11_27_20_00_00.1', v1);
  symlinkSync('..2026_11_27_20_00_00.1', join(tmp.dir, '..data'));
  symlinkSync('..data/tls.crt', join(tmp.dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(tmp.dir, 'tls.key'));

  const server = startServer(join(tmp.dir, 'tls.crt'), join(tmp.dir, 'tls.key'));
  t.after(() => server.close());
  await server.listen();
  const cas = [v1.caCert, v2.caCert];
  assert.equal(await servedFingerprint(server.port, cas), fingerprint(v1.cert));

  write('..2026_11_27_21_00_00.2', v2);
  symlinkSync('..2026_11_27_21_00_00.2', join(tmp.dir, '..data_tmp'));
  renameSync(join(tmp.dir, '..data_tmp'), join(tmp.dir, '..data'));

  await eventually(async () => (await servedFingerprint(server.port, cas)) === fingerprint(v2.cert), 'the new certificate to be served');
  const metrics = await server.metrics.registry.getSingleMetricAsString('ebb_webhook_tls_reloads_total');
  assert.match(metrics, /ebb_webhook_tls_reloads_total\{result="success"\} 1/);
});

test('files renamed into place one after the other: a half-done update (new cert, old key) keeps the old pair serving', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const v1 = await newCerts();
  const v2 = await newCerts();
  const certFile = join(tmp.dir, 'tls.crt');
  const keyFile = join(tmp.dir, 'tls.key');
  writeFileSync(certFile, v1.cert);
  writeFileSync(keyFile, v1.key);
  const server = startServer(certFile, keyFile);
  t.after(() => server.close());
  await server.listen();
  const cas = [v1.caCert, v2.caCert];

  // Step 1: only the certificate changes: it does not match the key, so nothing is applied.
  writeFileSync(`${certFile}.tmp`, v2.cert);
  renameSync(`${certFile}.tmp`, certFile);
  await eventually(async () => /result="failure"\} [1-9]/.test(await server.metrics.registry.getSingleMetricAsString('ebb_webhook_tls_reloads_total')), 'the mismatched pair to be refused');
  assert.equal(await servedFingerprint(server.port, cas), fingerprint(v1.cert), 'still the old pair');

  // Step 2: the key follows; now the new pair is served.
  writeFileSync(`${keyFile}.tmp`, v2.key);
  renameSync(`${keyFile}.tmp`, keyFile);
  await eventually(async () => (await servedFingerprint(server.port, cas)) === fingerprint(v2.cert), 'the new certificate to be served');
});
