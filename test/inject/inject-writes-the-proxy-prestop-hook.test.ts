import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectObject, resolveInjectConfig } from '../../src/inject/index.js';

// The proxy's preStop is an httpGet to its own GET /prestop?seconds=W: the kubelet calls it at the
// deletion, so the proxy tells its clients to leave from t0 (not from its TERM). Classic with a wait
// gets seconds=W (still the W-second wait before TERM); native always gets one, with seconds=0 (a
// native sidecar's preStop runs at t0, its TERM comes after the app). Classic without a wait has none.
const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app', ports: [{ containerPort: 8080 }] }] } };

function proxyOf(raw: Record<string, string>): { lifecycle?: { preStop?: unknown } } {
  const { config, problems } = resolveInjectConfig(raw);
  assert.deepEqual(problems, []);
  const { object } = injectObject(pod, config);
  const spec = (object as { spec: { containers: { name: string }[]; initContainers?: { name: string }[] } }).spec;
  return [...spec.containers, ...(spec.initContainers ?? [])].find((c) => c.name === 'ebb-proxy') as { lifecycle?: { preStop?: unknown } };
}

test('inject writes the proxy preStop as httpGet /prestop?seconds=W on its admin port', () => {
  assert.deepEqual(proxyOf({ mode: 'classic', 'wait-before-exit-seconds': '15' }).lifecycle?.preStop, { httpGet: { path: '/prestop?seconds=15', port: 4191 } });
  // Whatever the cluster version: an httpGet hook needs no sleep action (1.30) and no shell.
  assert.deepEqual(proxyOf({ mode: 'classic', 'wait-before-exit-seconds': '7', 'kube-version': '1.29' }).lifecycle?.preStop, { httpGet: { path: '/prestop?seconds=7', port: 4191 } });
  assert.deepEqual(proxyOf({ mode: 'classic', 'wait-before-exit-seconds': '7', 'admin-port': '9901' }).lifecycle?.preStop, { httpGet: { path: '/prestop?seconds=7', port: 9901 } });
  assert.deepEqual(proxyOf({}).lifecycle?.preStop, { httpGet: { path: '/prestop?seconds=0', port: 4191 } }, 'native: always, at once');
  assert.deepEqual(proxyOf({ 'wait-before-exit-seconds': '5' }).lifecycle?.preStop, { httpGet: { path: '/prestop?seconds=0', port: 4191 } }, 'native: the wait is not written there');
  assert.equal(proxyOf({ mode: 'classic' }).lifecycle?.preStop, undefined, 'classic without a wait: none (its TERM is at t0)');
});
