import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { inject, uninject, injectObject, uninjectObject, resolveInjectConfig, check, type InjectConfig } from '../../src/inject/index.js';

function cfg(raw: Record<string, string> = {}): InjectConfig {
  const r = resolveInjectConfig(raw);
  assert.deepEqual(r.problems, []);
  return r.config;
}

const SEED = YAML.parse(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 160
      containers:
      - name: web
        image: example/web:1
        ports: [{ containerPort: 8080 }]
        lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 20"] } } }
`) as unknown;

test("the seed's example (sleep 20, grace 160, proxy wait 40, classic) comes out clean", () => {
  const { report } = inject(SEED, cfg({ mode: 'classic', 'wait-before-exit-seconds': '40' }));
  assert.equal(report.status, 'injected');
  assert.deepEqual(report.findings, []);
  assert.ok(report.passes.some((p) => p.code === 'app_prestop_not_shorter'));
});

test('inject does not mutate its input and uninject(inject(x)) equals x', () => {
  const before = structuredClone(SEED);
  for (const mode of ['native', 'classic']) {
    const injected = injectObject(SEED, cfg({ mode, 'wait-before-exit-seconds': '40' })).object;
    assert.deepEqual(SEED, before);
    assert.deepEqual(uninjectObject(injected).object, SEED);
  }
});

test('inject is idempotent: injecting an injected object changes nothing', () => {
  for (const mode of ['native', 'classic']) {
    const c = cfg({ mode, 'wait-before-exit-seconds': '40' });
    const once = injectObject(SEED, c).object;
    const twice = injectObject(once, c);
    assert.equal(twice.report.reinjected, true);
    assert.deepEqual(twice.object, once);
  }
});

test('native mode puts the proxy first among init containers (after ebb-init) with restartPolicy Always and a startupProbe', () => {
  const out = injectObject(SEED, cfg()).object as { spec: { template: { spec: { initContainers: Record<string, unknown>[] } } } };
  // Transparent by default: ebb-init's rules come first, then the proxy, then the user's init containers.
  assert.equal(out.spec.template.spec.initContainers[0]!.name, 'ebb-init');
  const proxy = out.spec.template.spec.initContainers[1]!;
  assert.equal(proxy.name, 'ebb-proxy');
  assert.equal(proxy.restartPolicy, 'Always');
  assert.deepEqual((proxy.startupProbe as { httpGet: unknown }).httpGet, { path: '/ready', port: 4191 });
});

test('refusals: hostNetwork, another mesh, negative grace period', () => {
  const base = SEED as { spec: { template: { spec: Record<string, unknown> } } };
  const variant = (f: (s: Record<string, unknown>) => void): unknown => { const o = structuredClone(base); f(o.spec.template.spec); return o; };
  const cases: [unknown, string][] = [
    [variant((s) => { s.hostNetwork = true; }), 'host_network'],
    [variant((s) => { (s.containers as unknown[]).push({ name: 'linkerd-proxy', image: 'l5d' }); }), 'other_mesh'],
    [variant((s) => { s.terminationGracePeriodSeconds = -5; }), 'invalid_value'],
    [variant((s) => { s.terminationGracePeriodSeconds = 2.5; }), 'invalid_value'],
  ];
  for (const [obj, reason] of cases) {
    const r = inject(obj, cfg());
    assert.equal(r.report.status, 'refused');
    assert.equal(r.report.reason, reason);
    assert.deepEqual(r.patch, []);
  }
});

test('CronJob without template metadata gets it, and loses it again on uninject', () => {
  const cron = YAML.parse(`
apiVersion: batch/v1
kind: CronJob
metadata: { name: hello }
spec:
  schedule: "*/10 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{ name: hello, image: busybox }]
`) as unknown;
  const out = injectObject(cron, cfg()).object as { spec: { jobTemplate: { spec: { template: { metadata: { annotations: Record<string, string> } } } } } };
  assert.equal(out.spec.jobTemplate.spec.template.metadata.annotations['ebb.io/proxy-version'] !== undefined, true);
  assert.deepEqual(uninjectObject(out).object, cron);
});

test('a Namespace is annotated; other kinds are skipped with a reason', () => {
  const ns = injectObject<unknown>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, cfg());
  assert.equal(ns.report.status, 'annotated');
  assert.equal((ns.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations['ebb.io/inject'], 'enabled');
  assert.deepEqual(uninjectObject(ns.object).object, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  const cm = inject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }, cfg());
  assert.equal(cm.report.status, 'skipped');
  assert.equal(cm.report.reason, 'unsupported_kind');
});

test('config.ebb.io annotations on the template override the flags', () => {
  const o = structuredClone(SEED) as { spec: { template: { metadata: Record<string, unknown> } } };
  o.spec.template.metadata.annotations = { 'config.ebb.io/mode': 'classic', 'config.ebb.io/wait-before-exit-seconds': '40' };
  const r = injectObject(o, cfg({ mode: 'native' }));
  assert.equal(r.report.timing?.mode, 'classic');
  assert.equal(r.report.timing?.proxyWaitSeconds, 40);
  assert.deepEqual(uninjectObject(r.object).object, o);
});

test('check on a plain manifest evaluates it as inject would write it', () => {
  const r = check(SEED, cfg({ mode: 'classic' }));
  assert.equal(r.reason, 'not_injected');
  assert.ok(r.findings.some((f) => f.code === 'no_proxy_wait'));
});

test('uninject of a plain resource is unchanged with an empty patch', () => {
  const r = uninject(SEED);
  assert.equal(r.report.status, 'unchanged');
  assert.deepEqual(r.patch, []);
});
