import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { check, findingSentence, inject, injectObject, reasonSentence, resolveInjectConfig } from '../../src/inject/index.js';

const config = resolveInjectConfig({}).config;

/** A plain Deployment with these annotations on the workload and on its pod template. */
function deployment(own: Record<string, string>, tpl: Record<string, string> = {}): unknown {
  const d = YAML.parse(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - { name: web, image: "example/web:1", ports: [{ containerPort: 8080 }] }
`) as { metadata: { annotations?: Record<string, string> }; spec: { template: { metadata: { annotations?: Record<string, string> } } } };
  if (Object.keys(own).length) d.metadata.annotations = own;
  if (Object.keys(tpl).length) d.spec.template.metadata.annotations = tpl;
  return d;
}

test('a misspelt config.ebb.io/ annotation is reported with the setting it likely meant, by inject and by check', () => {
  const obj = deployment({ 'config.ebb.io/wait-before-exit-second': '20' }, { 'config.ebb.io/bogus': 'x', 'config.ebb.io/mode': 'native' });
  const r = inject(obj, config).report;
  assert.equal(r.status, 'injected');
  const unknown = r.findings.filter((f) => f.code === 'unknown_setting');
  assert.deepEqual(unknown.map((f) => [f.severity, f.params.annotation, f.params.suggestion]), [
    ['warning', 'config.ebb.io/wait-before-exit-second', 'config.ebb.io/wait-before-exit-seconds'],
    ['warning', 'config.ebb.io/bogus', undefined],
  ]);
  assert.match(findingSentence(unknown[0]!), /config\.ebb\.io\/wait-before-exit-second is not an ebb setting.*did you mean config\.ebb\.io\/wait-before-exit-seconds\?/);

  // check on the plain manifest and on the injected one.
  assert.ok(check(obj, config).findings.some((f) => f.code === 'unknown_setting' && f.params.annotation === 'config.ebb.io/bogus'));
  const injected = injectObject(obj, config).object;
  assert.ok(check(injected, config).findings.some((f) => f.code === 'unknown_setting' && f.params.annotation === 'config.ebb.io/wait-before-exit-second'));
});

test('real settings and ebb\'s own webhook opt-out key are not reported as unknown', () => {
  const r = inject(deployment({ 'config.ebb.io/admission-webhooks': 'disabled' }, { 'config.ebb.io/transparent': 'false', 'config.ebb.io/mode': 'classic' }), config).report;
  assert.equal(r.status, 'injected');
  assert.deepEqual(r.findings.filter((f) => f.code === 'unknown_setting'), []);
});

test('every bad config.ebb.io/ value of a workload is reported in one refusal', () => {
  const r = inject(deployment({}, { 'config.ebb.io/mode': 'sidecar', 'config.ebb.io/admin-port': '-1' }), config).report;
  assert.equal(r.status, 'refused');
  assert.equal(r.reason, 'invalid_values');
  const line = reasonSentence(r.reason!, r.reasonParams);
  assert.match(line, /^2 settings are invalid: /);
  assert.match(line, /config\.ebb\.io\/mode is "sidecar": must be native or classic/);
  assert.match(line, /config\.ebb\.io\/admin-port is "-1"/);
});
