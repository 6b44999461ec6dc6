/**
 * `ebb injector` reads namespace annotations through the Kubernetes API. Without a kubeconfig and
 * outside a cluster it stops at start-up (exit 64, nothing bound) naming every way to give it one,
 * instead of falling back to http://localhost:8080 and warning on every admission. In a cluster it
 * uses the pod's service account (the in-cluster config).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { resolveKubeConfig, SERVICE_ACCOUNT_DIR } from '../../src/webhook/namespaces.js';
import { runEbb } from '../helpers.js';
import { tempDir, writeCertificates } from './support.js';

test('no --kubeconfig, no KUBECONFIG, no ~/.kube/config, not in a cluster: exit 64 naming each way, nothing bound', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const certs = await writeCertificates(tmp.dir);
  const r = await runEbb(['injector', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--port', '0', '--host', '127.0.0.1'], {
    env: { HOME: join(tmp.dir, 'home'), KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '', KUBERNETES_SERVICE_PORT: '' },
  });
  assert.equal(r.code, 64, r.stderr);
  assert.doesNotMatch(r.stderr, /"msg":"listening"/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  for (const way of ['--kubeconfig FILE', 'KUBECONFIG', join(tmp.dir, 'home', '.kube', 'config'), 'KUBERNETES_SERVICE_HOST', `${SERVICE_ACCOUNT_DIR}/token`]) {
    assert.ok(r.stderr.includes(way), `the error names ${way}:\n${r.stderr}`);
  }
});

test('KUBECONFIG naming a file that does not exist is a start-up problem too', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  assert.throws(() => resolveKubeConfig(undefined, { env: { KUBECONFIG: join(tmp.dir, 'nope') }, home: tmp.dir }),
    (e: unknown) => e instanceof ConfigError && /KUBECONFIG names .*nope, which does not exist/.test(e.message));
});

test('in a cluster (service host and port set, a service account token mounted): the in-cluster config', (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const sa = join(tmp.dir, SERVICE_ACCOUNT_DIR);
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), 'the-token');
  writeFileSync(join(sa, 'ca.crt'), '');
  writeFileSync(join(sa, 'namespace'), 'ebb-system');
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
  // client-node's in-cluster loader reads these from process.env itself.
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  Object.assign(process.env, env);
  t.after(() => {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });
  const { kc, from } = resolveKubeConfig(undefined, { env, home: join(tmp.dir, 'home'), root: tmp.dir });
  assert.equal(from, 'in-cluster (service account)');
  assert.equal(kc.getCurrentCluster()?.server, 'https://10.96.0.1:443');
  assert.equal(kc.getCurrentCluster()?.caFile, join(sa, 'ca.crt'));
  assert.equal(kc.getCurrentUser()?.name, 'inClusterUser');
});

test('--kubeconfig, then KUBECONFIG, then ~/.kube/config, in that order', (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const write = (file: string, server: string): string => {
    writeFileSync(file, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    return file;
  };
  mkdirSync(join(tmp.dir, 'home', '.kube'), { recursive: true });
  write(join(tmp.dir, 'home', '.kube', 'config'), 'https://home.example:6443');
  const envFile = write(join(tmp.dir, 'env-kubeconfig'), 'https://env.example:6443');
  const flagFile = write(join(tmp.dir, 'flag-kubeconfig'), 'https://flag.example:6443');
  const home = join(tmp.dir, 'home');
  assert.equal(resolveKubeConfig(flagFile, { env: { KUBECONFIG: envFile }, home }).kc.getCurrentCluster()?.server, 'https://flag.example:6443');
  assert.equal(resolveKubeConfig(undefined, { env: { KUBECONFIG: envFile }, home }).kc.getCurrentCluster()?.server, 'https://env.example:6443');
  assert.equal(resolveKubeConfig(undefined, { env: {}, home }).kc.getCurrentCluster()?.server, 'https://home.example:6443');
});
