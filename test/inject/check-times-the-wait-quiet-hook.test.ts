import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, injectObject, resolveInjectConfig, type Finding } from '../../src/inject/index.js';
import { describePreStop } from '../../src/inject/prestop.js';
import { timelineLines } from '../../src/inject/timeline.js';

const PROXY = { adminPort: 4191, defaultMaxSeconds: 25 };
const hook = (httpGet: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name: 'app', lifecycle: { preStop: { httpGet } }, ...extra });

test('an httpGet to the proxy admin port path /wait-quiet is a preStop of at most max= seconds', () => {
  assert.deepEqual(describePreStop(hook({ path: '/wait-quiet?max=12', port: 4191 }), PROXY), { kind: 'wait-quiet', seconds: 12, shape: 'httpGet /wait-quiet?max=12' });
  assert.deepEqual(describePreStop(hook({ path: '/wait-quiet?quiet=3&max=2.5', port: '4191', scheme: 'HTTP' }), PROXY),
    { kind: 'wait-quiet', seconds: 2.5, shape: 'httpGet /wait-quiet?quiet=3&max=2.5' });
  // Without max= the proxy's own default applies.
  assert.deepEqual(describePreStop(hook({ path: '/wait-quiet', port: 4191 }), PROXY), { kind: 'wait-quiet', seconds: 25, shape: 'httpGet /wait-quiet' });
  assert.deepEqual(describePreStop(hook({ path: '/wait-quiet', port: 4191 }), { adminPort: 4191, defaultMaxSeconds: 12 }), { kind: 'wait-quiet', seconds: 12, shape: 'httpGet /wait-quiet' });
  assert.deepEqual(describePreStop(hook({ path: 'wait-quiet?max=3', port: 4191 }), PROXY), { kind: 'wait-quiet', seconds: 3, shape: 'httpGet /wait-quiet?max=3' });
  // A named port is resolved in the hook's own container, as the kubelet does.
  assert.equal(describePreStop(hook({ path: '/wait-quiet?max=5', port: 'ebb-admin' }, { ports: [{ name: 'ebb-admin', containerPort: 4191 }] }), PROXY).kind, 'wait-quiet');
});

test('other httpGets, and /wait-quiet hooks that would not reach the proxy or that it refuses, stay unchecked', () => {
  const other = (h: Record<string, unknown>, extra?: Record<string, unknown>, proxy: typeof PROXY | null = PROXY): string => {
    const p = describePreStop(hook(h, extra), proxy ?? undefined);
    assert.equal(p.kind, 'other', JSON.stringify(h));
    return (p as { shape: string }).shape;
  };
  other({ path: '/wait-quiet?max=5', port: 8080 });
  other({ path: '/wait-quiet?max=5', port: 4191 }, undefined, null); // no ebb proxy in the pod
  other({ path: '/wait-quiet?max=5', port: 4191, host: '10.0.0.7' });
  other({ path: '/wait-quiet?max=5', port: 4191, scheme: 'HTTPS' });
  other({ path: '/wait-quiet?max=abc', port: 4191 });
  other({ path: '/wait-quiet?max=5&quiet=0', port: 4191 });
  other({ path: '/wait-quiet?max=4000', port: 4191 });
  other({ path: '/wait-quieter?max=5', port: 4191 });
  other({ path: '/wait-quiet?max=5', port: 'http' }, { ports: [{ name: 'http', containerPort: 8080 }] });
  assert.match(other({ path: '/wait-quiet?max=5', port: 'ebb-admin' }), /not a port of this container: the kubelet fails the hook at once/);
});

function classic(app: Record<string, unknown>, opts: { grace?: number; wait?: number; env?: { name: string; value: string }[] } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: {
      ...(opts.grace === undefined ? {} : { terminationGracePeriodSeconds: opts.grace }),
      containers: [
        {
          name: 'ebb-proxy', image: 'ebb:test', args: ['proxy'],
          env: [{ name: 'EBB_INBOUND', value: '4143:8080' }, ...(opts.env ?? [])],
          ports: [{ name: 'ebb-admin', containerPort: 4191 }],
          ...(opts.wait ? { lifecycle: { preStop: { sleep: { seconds: opts.wait } } } } : {}),
        },
        { name: 'app', image: 'app', ports: [{ containerPort: 8080 }], ...app },
      ],
    },
  };
}

const cfg = resolveInjectConfig({}).config;
const summary = (findings: readonly Finding[]): string[] => findings.filter((f) => f.code !== 'proxy_not_first').map((f) => `${f.severity} ${f.code}`);

test('ebb check applies the timing rules to a /wait-quiet hook', () => {
  const quiet = (max: string, port: number | string = 4191): Record<string, unknown> => ({ lifecycle: { preStop: { httpGet: { path: `/wait-quiet${max}`, port } } } });
  // Shorter than the proxy's fixed wait, within the grace period: every rule holds.
  const ok = check(classic(quiet('?max=9'), { wait: 10 }), cfg);
  assert.deepEqual(summary(ok.findings), []);
  assert.ok(ok.passes.some((f) => f.code === 'app_prestop_not_shorter' && f.params.hook === 'wait-quiet' && f.params.sleep === 9));
  // Not shorter than the proxy wait.
  assert.deepEqual(summary(check(classic(quiet('?max=20'), { wait: 10 }), cfg).findings), ['error app_prestop_not_shorter']);
  // Longer than the grace period (and so also not shorter than the wait).
  assert.deepEqual(summary(check(classic(quiet('?max=40'), { wait: 10 }), cfg).findings), ['error app_prestop_exceeds_grace', 'error app_prestop_not_shorter']);
  // No max=: the proxy's default, which is its auto MAX when it has one.
  const auto = check(classic(quiet(''), { env: [{ name: 'EBB_WAIT_BEFORE_EXIT', value: 'auto:1:1:12' }, { name: 'EBB_DRAIN_TIMEOUT', value: '10' }] }), cfg);
  assert.deepEqual(auto.timing?.apps[0]?.preStop, { kind: 'wait-quiet', seconds: 12, shape: 'httpGet /wait-quiet' });
  assert.deepEqual(summary(auto.findings), []);
  assert.deepEqual(check(classic(quiet(''), { wait: 30, grace: 60 }), cfg).timing?.apps[0]?.preStop, { kind: 'wait-quiet', seconds: 25, shape: 'httpGet /wait-quiet' });
  // The proxy's admin port is where it listens (EBB_ADMIN_PORT), not the default.
  const moved = { env: [{ name: 'EBB_ADMIN_PORT', value: '9901' }], wait: 10 };
  assert.equal(check(classic(quiet('?max=5', 9901), moved), cfg).timing?.apps[0]?.preStop.kind, 'wait-quiet');
  assert.deepEqual(summary(check(classic(quiet('?max=5', 4191), moved), cfg).findings), ['info app_prestop_unchecked']);
});

test('the timeline draws the hook up to its max', () => {
  const r = check(classic({ lifecycle: { preStop: { httpGet: { path: '/wait-quiet?max=9', port: 4191 } } } }, { wait: 10 }), cfg);
  const row = timelineLines(r.timing!).find((l) => l.trimStart().startsWith('app '))!;
  assert.match(row, /=+T +preStop \/wait-quiet until inbound is quiet, TERM by 9s$/);
});

test('what ebb inject --app-wait auto writes is timed and holds every rule, in each mode', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app', ports: [{ containerPort: 8080 }] }] } };
  for (const raw of [{}, { mode: 'classic', 'wait-before-exit': 'auto' }, { mode: 'classic', 'wait-before-exit-seconds': '10' }, { mode: 'classic', 'wait-before-exit-seconds': '20' }]) {
    const config = resolveInjectConfig({ ...raw, 'app-wait': 'auto' }).config;
    const { object, report } = injectObject(pod, config);
    assert.equal(report.timing?.apps[0]?.preStop.kind, 'wait-quiet', JSON.stringify(raw));
    assert.deepEqual(summary(report.findings), [], JSON.stringify(raw));
    assert.deepEqual(summary(check(object, config).findings), [], JSON.stringify(raw));
  }
  // With a fixed proxy wait the hook waits less than it (W - 1).
  const fixed = injectObject(pod, resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '10', 'app-wait': 'auto' }).config).object;
  const app = (fixed as { spec: { containers: { name: string; lifecycle?: { preStop?: unknown } }[] } }).spec.containers.find((c) => c.name === 'app')!;
  assert.deepEqual(app.lifecycle?.preStop, { httpGet: { path: '/wait-quiet?max=9', port: 4191 } });
});
