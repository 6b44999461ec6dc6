import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Namespace, ServiceAccount, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { once } from 'node:events';
import { runEbb, startEbb } from '../helpers.js';
import { VERSIONED_FIELDS, parseKubeVersion, hasField, type VersionedField } from '../../src/kube-version.js';
import { tempDir } from '../webhook/support.js';
import { VERSION } from '../../src/version.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const MODELS: Record<string, { validate(): void } & (new (data: any) => { validate(): void })> = { // eslint-disable-line @typescript-eslint/no-explicit-any
  'v1/Namespace': Namespace, 'v1/ServiceAccount': ServiceAccount, 'v1/Secret': Secret, 'v1/Service': Service,
  'apps/v1/Deployment': Deployment, 'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole, 'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
} as never;

async function install(args: string[]): Promise<Obj[]> {
  const r = await runEbb(['install', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return parseAllDocuments(r.stdout).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Obj;
  });
}

function validateAll(objects: Obj[]): void {
  for (const o of objects) {
    const Model = MODELS[`${o.apiVersion}/${o.kind}`];
    assert.ok(Model, `unexpected object ${o.apiVersion} ${o.kind}`);
    new Model(o).validate(); // throws with the failing field path
  }
}

const byKind = (objects: Obj[], kind: string): Obj => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

/** Where each versioned field appears in the output. */
const FIELD_PRESENT: Record<VersionedField, (objects: Obj[]) => boolean> = {
  pdbUnhealthyPodEvictionPolicy: (o) => byKind(o, 'PodDisruptionBudget').spec.unhealthyPodEvictionPolicy !== undefined,
  topologySpreadMatchLabelKeys: (o) => byKind(o, 'Deployment').spec.template.spec.topologySpreadConstraints.some((c: Obj) => c.matchLabelKeys),
  preStopSleepAction: (o) => byKind(o, 'Deployment').spec.template.spec.containers[0].lifecycle.preStop.sleep !== undefined,
};

for (const version of ['1.23', '1.26', '1.27', '1.29', '1.30', '1.31', '1.34']) {
  test(`ebb install --kube-version ${version}: exactly the listed objects, each valid against the Kubernetes schema, with only that version's fields`, async () => {
    const objects = await install(['--kube-version', version]);
    assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), [
      'Namespace/ebb-system', 'ServiceAccount/ebb-injector', 'ClusterRole/ebb-injector', 'ClusterRoleBinding/ebb-injector',
      'Secret/ebb-injector-tls', 'Service/ebb-injector', 'Deployment/ebb-injector', 'PodDisruptionBudget/ebb-injector',
      'MutatingWebhookConfiguration/ebb-injector',
    ]);
    validateAll(objects);
    const v = parseKubeVersion(version)!;
    for (const field of Object.keys(VERSIONED_FIELDS) as VersionedField[]) {
      assert.equal(FIELD_PRESENT[field](objects), hasField(v, field), `${field} on ${version}`);
    }
    const container = byKind(objects, 'Deployment').spec.template.spec.containers[0];
    assert.ok(container.args.includes(`--kube-version=${version}`), 'the injector injects for the same version');
    if (!hasField(v, 'preStopSleepAction')) assert.deepEqual(container.lifecycle.preStop.exec.command, ['ebb', 'sleep', '5']);
  });
}

test('the webhook configuration, RBAC and Deployment say what the issue asks', async () => {
  const objects = await install([]);
  const hook = byKind(objects, 'MutatingWebhookConfiguration').webhooks[0];
  assert.equal(hook.failurePolicy, 'Fail');
  assert.equal(hook.sideEffects, 'None');
  assert.equal(hook.timeoutSeconds, 10);
  assert.equal(hook.reinvocationPolicy, 'IfNeeded');
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.deepEqual(hook.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
  assert.deepEqual(hook.clientConfig.service, { name: 'ebb-injector', namespace: 'ebb-system', path: '/inject', port: 443 });
  assert.deepEqual(hook.namespaceSelector.matchExpressions[0], { key: 'ebb.io/inject', operator: 'In', values: ['enabled'] });
  assert.deepEqual(hook.namespaceSelector.matchExpressions[1], { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'ebb-system'] });
  assert.deepEqual(hook.objectSelector, { matchExpressions: [{ key: 'ebb.io/inject', operator: 'NotIn', values: ['disabled'] }] });

  assert.deepEqual(byKind(objects, 'ClusterRole').rules, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }]);
  const binding = byKind(objects, 'ClusterRoleBinding');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'ebb-injector', namespace: 'ebb-system' }]);

  const dep = byKind(objects, 'Deployment');
  assert.equal(dep.spec.replicas, 2);
  const pod = dep.spec.template.spec;
  assert.ok(pod.topologySpreadConstraints.length >= 1);
  assert.equal(pod.serviceAccountName, 'ebb-injector');
  const c = pod.containers[0];
  assert.equal(c.image, `ebb:${VERSION}`, 'the image the Dockerfile builds');
  assert.equal(c.readinessProbe.httpGet.path, '/healthz');
  assert.equal(c.livenessProbe.httpGet.scheme, 'HTTPS');
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
  assert.equal(byKind(objects, 'PodDisruptionBudget').spec.minAvailable, 1);
  assert.equal(byKind(objects, 'Service').spec.ports[0].port, 443);
});

test('the generated certificate is signed by the caBundle CA, names the Service, and serves TLS the API server accepts', async () => {
  const objects = await install([]);
  const secret = byKind(objects, 'Secret');
  assert.equal(secret.type, 'kubernetes.io/tls');
  const pem = (k: string): string => Buffer.from(secret.data[k], 'base64').toString('utf8');
  const caBundle = Buffer.from(byKind(objects, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
  assert.equal(caBundle, pem('ca.crt'));
  const leaf = new X509Certificate(pem('tls.crt'));
  const ca = new X509Certificate(caBundle);
  assert.ok(leaf.verify(ca.publicKey), 'signed by the CA');
  assert.ok(ca.ca, 'the CA is a CA');
  assert.ok(!leaf.ca, 'the serving certificate is not');
  for (const name of ['ebb-injector.ebb-system.svc', 'ebb-injector.ebb-system.svc.cluster.local', 'ebb-injector.ebb-system', 'ebb-injector']) {
    assert.ok(leaf.checkHost(name), `valid for ${name}`);
  }
  assert.ok(leaf.checkPrivateKey(createPrivateKey(pem('tls.key'))), 'key matches');

  // A real handshake, verified the way the API server does: by the Service DNS name against caBundle.
  const server = createServer({ cert: pem('tls.crt'), key: pem('tls.key') }, (_q, r) => r.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'ebb-injector.ebb-system.svc', ca: caBundle }, () => {
        resolve(s.authorized);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(authorized, true);
  } finally {
    server.close();
  }
});

test('--tls-secret uses an existing Secret (cert-manager): no Secret printed, CA injected by cert-manager or --ca-bundle', async (t) => {
  const objects = await install(['--tls-secret', 'injector-cert', '--failure-policy', 'Ignore', '--timeout-seconds', '5']);
  validateAll(objects);
  assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
  const dep = byKind(objects, 'Deployment');
  assert.equal(dep.spec.template.spec.volumes.find((v: Obj) => v.name === 'tls').secret.secretName, 'injector-cert');
  const mwc = byKind(objects, 'MutatingWebhookConfiguration');
  assert.equal(mwc.webhooks[0].failurePolicy, 'Ignore');
  assert.equal(mwc.webhooks[0].timeoutSeconds, 5);
  assert.equal(mwc.webhooks[0].clientConfig.caBundle, undefined);
  assert.equal(mwc.metadata.annotations['cert-manager.io/inject-ca-from'], 'ebb-system/injector-cert');

  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const all = await install([]);
  const caPem = Buffer.from(byKind(all, 'Secret').data['ca.crt'], 'base64').toString('utf8');
  writeFileSync(join(tmp.dir, 'ca.crt'), caPem);
  const withCa = await install(['--tls-secret', 'injector-cert', '--ca-bundle', join(tmp.dir, 'ca.crt')]);
  validateAll(withCa);
  assert.equal(Buffer.from(byKind(withCa, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, 'base64').toString('utf8'), caPem);
});

test('-o json prints one schema-valid v1 List', async () => {
  const r = await runEbb(['install', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { kind: string; items: Obj[] };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 9);
  validateAll(list.items);
});

test('bad install flags are all reported with exit 64', async () => {
  const r = await runEbb(['install', '--failure-policy', 'Sometimes', '--kube-version', '1.20', '--timeout-seconds', '31', '--tls-secret', 'Bad_Name']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--failure-policy: "Sometimes"/);
  assert.match(r.stderr, /--kube-version: 1\.20 is older/);
  assert.match(r.stderr, /--timeout-seconds: "31"/);
  assert.match(r.stderr, /--tls-secret: "Bad_Name"/);
  assert.equal(r.stdout, '');
});

test('the injector starts with exactly the args and the Secret that ebb install writes', async (t) => {
  const objects = await install(['--kube-version', '1.29']);
  const secret = byKind(objects, 'Secret');
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const files: Record<string, string> = {};
  for (const k of ['tls.crt', 'tls.key']) {
    files[k] = join(tmp.dir, k);
    writeFileSync(files[k]!, Buffer.from(secret.data[k], 'base64'));
  }
  const args = (byKind(objects, 'Deployment').spec.template.spec.containers[0].args as string[]).map((a) =>
    a.startsWith('--tls-cert=') ? `--tls-cert=${files['tls.crt']}` : a.startsWith('--tls-key=') ? `--tls-key=${files['tls.key']}` : a.startsWith('--port=') ? '--port=0' : a);
  assert.equal(args[0], 'injector');
  // In the cluster it finds its service account; here a kubeconfig for an API nobody serves (the
  // injector starts anyway: unreachable namespaces are decided per pod, with a warning).
  const kubeconfig = join(tmp.dir, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
    'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
  const child = startEbb([...args, '--host', '127.0.0.1'], { KUBECONFIG: kubeconfig });
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('"msg":"listening"')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`injector exited ${code}: ${stderr}`)));
  });
  assert.match(stderr, /"kubeVersion":"1\.29"/);
  child.kill('SIGTERM');
  const [code, signal] = await once(child, 'exit') as [number | null, string | null];
  assert.equal(code, 0, `exit ${code} ${signal}: ${stderr}`);
});
