import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, resolveInjectConfig } from '../../src/inject/index.js';
import { describePreStop } from '../../src/inject/prestop.js';
import { planOf } from '../../src/inject/termination.js';
import { timelineLines } from '../../src/inject/timeline.js';

// `ebb check` reads the proxy's GET /prestop?seconds=W hook as the W-second wait it is: its
// timeline gives the proxy TERM at W, as for a preStop `sleep W`; a hook the proxy would refuse
// (400 at once) is a hook of no length, and a hook that would not reach the proxy is unchecked.
const cfg = resolveInjectConfig({}).config;
const proxy = (preStop: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'ebb-proxy', image: 'ebb:test', args: ['proxy'],
  env: [{ name: 'EBB_INBOUND', value: '4143:8080' }, { name: 'EBB_DRAIN_TIMEOUT', value: '10' }],
  ports: [{ name: 'ebb-admin', containerPort: 4191 }], lifecycle: { preStop }, ...extra,
});
const pod = (p: Record<string, unknown>, native = false): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
  spec: {
    terminationGracePeriodSeconds: 30,
    ...(native ? { initContainers: [{ ...p, restartPolicy: 'Always' }] } : {}),
    containers: [...(native ? [] : [p]), { name: 'app', image: 'app', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { sleep: { seconds: 5 } } } }],
  },
});

test('describePreStop: the proxy\'s own /prestop hook is a wait of seconds=W; refused or unreachable ones are not', () => {
  const d = (get: Record<string, unknown>, extra?: Record<string, unknown>): unknown => describePreStop(proxy({ httpGet: get }, extra));
  assert.deepEqual(d({ path: '/prestop?seconds=12', port: 4191 }), { kind: 'sleep', seconds: 12, shape: 'httpGet /prestop?seconds=12' });
  assert.deepEqual(d({ path: '/prestop?seconds=12', port: 'ebb-admin' }), { kind: 'sleep', seconds: 12, shape: 'httpGet /prestop?seconds=12' });
  assert.deepEqual(d({ path: '/prestop', port: 4191 }), { kind: 'sleep', seconds: 0, shape: 'httpGet /prestop' });
  assert.deepEqual(d({ path: '/prestop?seconds=3', port: 9901 }, { env: [{ name: 'EBB_ADMIN_PORT', value: '9901' }] }), { kind: 'sleep', seconds: 3, shape: 'httpGet /prestop?seconds=3' });
  const refused = d({ path: '/prestop?seconds=-1', port: 4191 }) as { kind: string; shape: string };
  assert.equal(refused.kind, 'other');
  assert.match(refused.shape, /answers 400 at once and the kubelet sends TERM at once/);
  for (const get of [{ path: '/prestop?seconds=5', port: 8080 }, { path: '/prestop?seconds=5', port: 4191, host: '10.0.0.1' }, { path: '/prestop?seconds=5', port: 4191, scheme: 'HTTPS' }]) {
    assert.equal((d(get) as { kind: string }).kind, 'other', JSON.stringify(get));
  }
});

test('check\'s timeline: classic /prestop?seconds=15 gives TERM at 15 s like sleep 15; native seconds=0 changes nothing', () => {
  const hooked = check(pod(proxy({ httpGet: { path: '/prestop?seconds=15', port: 4191 } })), cfg);
  const slept = check(pod(proxy({ sleep: { seconds: 15 } })), cfg);
  assert.equal(hooked.timing?.proxyWaitSeconds, 15);
  const term = (r: typeof hooked): number | undefined => planOf(r.timing!).find((p) => p.name === 'ebb-proxy')?.termAt;
  assert.equal(term(hooked), 15);
  assert.equal(term(hooked), term(slept));
  assert.deepEqual(hooked.findings.map((f) => f.code), slept.findings.map((f) => f.code), 'the same rules hold for both shapes');
  assert.ok(timelineLines(hooked.timing!).some((l) => l.trimStart().startsWith('ebb-proxy') && /wait 15s \(preStop\)/.test(l)));

  const native = check(pod(proxy({ httpGet: { path: '/prestop?seconds=0', port: 4191 } }), true), cfg);
  const bare = check(pod(proxy(undefined), true), cfg);
  assert.deepEqual(planOf(native.timing!).map((p) => [p.name, p.termAt, p.exitAt]), planOf(bare.timing!).map((p) => [p.name, p.termAt, p.exitAt]));
  assert.deepEqual(native.findings.filter((f) => f.severity !== 'info').map((f) => f.code), bare.findings.filter((f) => f.severity !== 'info').map((f) => f.code));
});
