import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, injectObject, resolveInjectConfig, type InjectConfig } from '../../src/inject/index.js';

function cfg(raw: Record<string, string>): InjectConfig {
  const r = resolveInjectConfig(raw);
  assert.deepEqual(r.problems, []);
  return r.config;
}

function deployment(grace?: number, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
        spec: {
          ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }),
          containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  };
}

type Container = { name: string; env?: { name: string; value: string }[]; lifecycle?: { preStop?: { httpGet?: { path: string } } } };

function injected(obj: unknown, config: InjectConfig): { env: Map<string, string>; hook: string | undefined; codes: string[] } {
  const r = injectObject(obj, config);
  assert.equal(r.report.status, 'injected');
  const spec = (r.object as { spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } } }).spec.template.spec;
  const containers = spec.containers;
  const proxy = [...(spec.initContainers ?? []), ...containers].find((c) => c.name === 'ebb-proxy')!;
  const app = containers.find((c) => c.name === 'web')!;
  return {
    env: new Map((proxy.env ?? []).map((e) => [e.name, e.value])),
    hook: app.lifecycle?.preStop?.httpGet?.path,
    codes: r.report.findings.map((f) => f.code),
  };
}

/** MAX of an EBB_WAIT_BEFORE_EXIT value inject wrote ("auto" alone is 25). */
function maxOf(spec: string): number {
  return spec === 'auto' ? 25 : Number(spec.split(':')[3]);
}

test('a plain auto wait is fitted to the default grace period: wait MAX + withdrawing + drain end before SIGKILL', () => {
  const { env, hook, codes } = injected(deployment(), cfg({ mode: 'classic', 'wait-before-exit': 'auto', 'app-wait': 'auto' }));
  // 30 s grace, 1 s margin: 13 s for withdrawing (readiness 2 s x 3, 5 s propagation, 2 s quiet),
  // of the 16 s left two thirds (10 s) for the wait, the rest (6 s) for the drain.
  assert.equal(env.get('EBB_WITHDRAW_TIMEOUT'), '13');
  assert.equal(env.get('EBB_WAIT_BEFORE_EXIT'), 'auto:2:2:10');
  assert.equal(env.get('EBB_DRAIN_TIMEOUT'), '6');
  assert.equal(hook, '/wait-quiet?max=23', 'the app hook waits as long as the proxy accepts: its wait and its withdrawing');
  assert.ok(!codes.includes('auto_wait_exceeds_grace'));
});

test('for every grace period and fixed wait, what inject writes for a plain auto wait fits', () => {
  for (let grace = 0; grace <= 120; grace++) {
    for (const fixed of [0, 1, 5, 10, 20]) {
      if (fixed > grace) continue;
      const raw: Record<string, string> = { mode: 'classic', 'wait-before-exit': 'auto', 'app-wait': 'auto' };
      if (fixed > 0) raw['wait-before-exit-seconds'] = String(fixed);
      const { env, hook } = injected(deployment(grace), cfg(raw));
      const spec = env.get('EBB_WAIT_BEFORE_EXIT')!;
      const [min, quiet] = spec === 'auto' ? [2, 2] : spec.split(':').slice(1, 3).map(Number) as [number, number];
      const max = maxOf(spec);
      const drain = env.has('EBB_DRAIN_TIMEOUT') ? Number(env.get('EBB_DRAIN_TIMEOUT')) : 30;
      const withdraw = env.has('EBB_WITHDRAW_TIMEOUT') ? Number(env.get('EBB_WITHDRAW_TIMEOUT')) : 0;
      const at = `grace ${grace}, fixed wait ${fixed}: ${spec}, withdraw ${withdraw}, drain ${drain}`;
      assert.ok(max <= 25 && min <= max && quiet === 2, at);
      assert.ok(resolveInjectConfig({ 'wait-before-exit': spec }).problems.length === 0, `${at}: a valid spec`);
      if (grace - fixed - 1 >= 5) {
        assert.ok(fixed + max + withdraw + drain <= grace - 1, `${at}: ends before SIGKILL`);
        assert.ok(drain >= 5, `${at}: the drain keeps at least 5 s`);
      }
      if (grace - fixed >= 60) assert.equal(spec, 'auto', `${at}: a long grace period leaves the default alone`);
      assert.ok(withdraw <= 13, at);
      assert.equal(hook, `/wait-quiet?max=${Math.max(1, Math.min(max + withdraw, grace - 5))}`, at);
    }
  }
});

test('an explicit auto:MIN:QUIET:MAX is written as given; one that cannot fit is an error finding', () => {
  const fits = injected(deployment(), cfg({ mode: 'classic', 'wait-before-exit': 'auto:1:3:24' }));
  assert.equal(fits.env.get('EBB_WAIT_BEFORE_EXIT'), 'auto:1:3:24');
  assert.equal(fits.env.get('EBB_DRAIN_TIMEOUT'), '5');
  assert.ok(!fits.codes.includes('auto_wait_exceeds_grace'));

  const c = cfg({ mode: 'classic', 'wait-before-exit': 'auto:2:2:28' });
  const tooLong = injected(deployment(), c);
  assert.equal(tooLong.env.get('EBB_WAIT_BEFORE_EXIT'), 'auto:2:2:28', 'not silently changed');
  assert.ok(tooLong.codes.includes('auto_wait_exceeds_grace'));
  const f = check(deployment(), c).findings.find((x) => x.code === 'auto_wait_exceeds_grace')!;
  assert.equal(f.severity, 'error');
  assert.deepEqual(f.params, { wait: 0, max: 28, grace: 30, left: 2 });

  // The same value from the pod template's annotation, with a grace period it fits in.
  const roomy = injected(deployment(40, { 'config.ebb.io/wait-before-exit': 'auto:2:2:28' }), cfg({ mode: 'classic' }));
  assert.equal(roomy.env.get('EBB_WAIT_BEFORE_EXIT'), 'auto:2:2:28');
  assert.ok(!roomy.codes.includes('auto_wait_exceeds_grace'));
});

test('ebb check finds an injected auto wait that leaves no time to drain, counting the fixed wait before it', () => {
  const spec = (wait: string, preStopSleep: number): Record<string, unknown> => {
    const d = deployment(30) as { spec: { template: { spec: { containers: unknown[] } } } };
    d.spec.template.spec.containers.unshift({
      name: 'ebb-proxy', image: 'ebb:test', args: ['proxy'],
      env: [{ name: 'EBB_ADMIN_PORT', value: '4191' }, { name: 'EBB_WAIT_BEFORE_EXIT', value: wait }],
      ...(preStopSleep ? { lifecycle: { preStop: { sleep: { seconds: preStopSleep } } } } : {}),
    });
    return d;
  };
  const codes = (o: unknown): string[] => check(o, cfg({})).findings.filter((f) => f.severity === 'error').map((f) => f.code);
  assert.deepEqual(codes(spec('auto', 0)), [], '25 s of auto wait leave 5 s of 30');
  assert.deepEqual(codes(spec('auto', 1)), ['auto_wait_exceeds_grace'], 'after a 1 s preStop only 4 s are left');
  assert.deepEqual(codes(spec('auto:0:1:40', 0)), ['auto_wait_exceeds_grace']);
  assert.deepEqual(codes(spec('auto:0:1:10', 10)), []);
  assert.equal(check(spec('auto:0:1:10', 10), cfg({})).timing?.proxyWaitAutoMaxSeconds, 10);
});

test('native mode: the auto wait and the drain are fitted to what the grace period leaves at the proxy\'s TERM', () => {
  // No app preStop: TERM at the app's exit, 29 s of the default 30 left (less 1 s): two thirds for the wait.
  const { env } = injected(deployment(), cfg({ 'wait-before-exit': 'auto' }));
  assert.equal(env.get('EBB_WAIT_BEFORE_EXIT'), 'auto:2:2:19');
  assert.equal(env.get('EBB_DRAIN_TIMEOUT'), '10');
});

test('inject accepts exactly the auto waits the proxy accepts: a QUIET of 0 (the proxy refuses it at start) is a problem', async () => {
  const { runEbb } = await import('../helpers.js');
  for (const spec of ['auto:1:0:5', 'auto:3:2:1', 'auto:x:2:5']) {
    const r = resolveInjectConfig({ 'wait-before-exit': spec });
    assert.equal(r.problems.length, 1, `${spec}: ${JSON.stringify(r.problems)}`);
    assert.equal(r.problems[0]!.flag, 'wait-before-exit');
    // The same value given to the proxy is a config error (exit 64) before anything is bound.
    const proxy = await runEbb(['proxy', '--app-port', '1', '--inbound-port', '0', '--admin-port', '0', '--wait-before-exit', spec]);
    assert.equal(proxy.code, 64, `${spec}: ${proxy.stderr}`);
  }
  for (const spec of ['auto', 'auto:0:1:0', 'auto:1:0.5:24']) assert.deepEqual(resolveInjectConfig({ 'wait-before-exit': spec }).problems, [], spec);
});
