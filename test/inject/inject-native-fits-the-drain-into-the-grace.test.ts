import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, injectObject, resolveInjectConfig } from '../../src/inject/index.js';

// Issue 13 point 5: a native proxy gets TERM once the app has exited, with what the grace period
// leaves; a drain deadline longer than that is a SIGKILL (exit 137, which fails Argo steps).
const deployment = (sleep: number) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: {
    terminationGracePeriodSeconds: 30,
    containers: [{ name: 'app', image: 'web', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { sleep: { seconds: sleep } } } }],
  } } },
});
const drainOf = (o: unknown): string | undefined => {
  const init = (o as { spec: { template: { spec: { initContainers: Array<{ name: string; env: Array<{ name: string; value: string }> }> } } } }).spec.template.spec.initContainers;
  return init.find((c) => c.name === 'ebb-proxy')!.env.find((e) => e.name === 'EBB_DRAIN_TIMEOUT')?.value;
};

test('native inject fits EBB_DRAIN_TIMEOUT into what the grace period leaves after the app\'s preStop', () => {
  const { config } = resolveInjectConfig({ mode: 'native' }, { injectedBy: 'test' });
  const { object } = injectObject(deployment(25), config);
  // TERM at 25 s at the earliest, SIGKILL at 30 s: the drain ends 1 s before.
  assert.equal(drainOf(object), '4');
  assert.deepEqual(check(object, config).findings.filter((f) => f.severity === 'error').map((f) => f.code), []);
});

test('check errors when a native proxy\'s drain deadline cannot end before its SIGKILL', () => {
  const { config } = resolveInjectConfig({ mode: 'native', 'drain-timeout-seconds': '30' }, { injectedBy: 'test' });
  const { object } = injectObject(deployment(25), config);
  const f = check(object, config).findings.find((x) => x.code === 'drain_exceeds_grace');
  assert.ok(f, 'drain_exceeds_grace reported');
  assert.equal(f.severity, 'error');
  assert.equal(f.params.kill, 30);
});
