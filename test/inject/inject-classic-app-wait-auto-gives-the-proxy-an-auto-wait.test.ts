import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, injectObject, resolveInjectConfig } from '../../src/inject/index.js';

// Issue 13 point 4: `inject --mode classic --app-wait auto` wrote /wait-quiet?max=25 behind a proxy
// without any wait, which `ebb check` then rejected (app_prestop_not_shorter).
test('classic + --app-wait auto without a proxy wait: the proxy gets the auto wait too, and check passes', () => {
  const sts = {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
    spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } },
      spec: { containers: [{ name: 'app', image: 'postgres', ports: [{ containerPort: 5432 }] }] } } },
  };
  const { config } = resolveInjectConfig({ mode: 'classic', 'app-wait': 'auto' }, { injectedBy: 'test' });
  const { object } = injectObject(sts, config);
  const containers = (object as { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value: string }> }> } } } }).spec.template.spec.containers;
  const proxy = containers.find((c) => c.name === 'ebb-proxy')!;
  assert.match(proxy.env!.find((e) => e.name === 'EBB_WAIT_BEFORE_EXIT')?.value ?? '', /^auto/);
  const r = check(object, config);
  assert.deepEqual(r.findings.filter((f) => f.severity === 'error').map((f) => f.code), []);
});
