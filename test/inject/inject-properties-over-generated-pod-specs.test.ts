/**
 * fast-check over generated workloads and configs: inject never throws; what it refuses or skips it
 * leaves untouched; what it injects is schema-valid, uninjects back to the input exactly, and
 * re-injects to itself; the input object is never mutated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import fjp from 'fast-json-patch';
import { parseDocument, stringify } from 'yaml';
import { inject, injectObject, uninjectObject, resolveInjectConfig } from '../../src/inject/index.js';
import { parseSource } from '../../src/manifests/read.js';
import { render, transformDoc } from '../../src/manifests/transform.js';

const require = createRequire(import.meta.url);
type Model = { new (data: unknown): { validate(): void }; apiVersion: string };
const MODELS: Record<string, Model> = {
  Pod: (require('kubernetes-models/v1') as Record<string, Model>).Pod!,
  Deployment: (require('kubernetes-models/apps/v1') as Record<string, Model>).Deployment!,
  StatefulSet: (require('kubernetes-models/apps/v1') as Record<string, Model>).StatefulSet!,
  Job: (require('kubernetes-models/batch/v1') as Record<string, Model>).Job!,
  CronJob: (require('kubernetes-models/batch/v1') as Record<string, Model>).CronJob!,
};

const seconds = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 200 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, 2.5) });

const preStop = fc.oneof(
  fc.constant(undefined),
  seconds.map((s) => ({ sleep: { seconds: s } })),
  fc.integer({ min: 0, max: 90 }).map((s) => ({ exec: { command: ['sleep', String(s)] } })),
  fc.integer({ min: 0, max: 90 }).map((s) => ({ exec: { command: ['/bin/sh', '-c', `sleep ${s} && kill 1`] } })),
  fc.constant({ httpGet: { path: '/quit', port: 8080 } }),
);

const port = fc.record({
  containerPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(80, 8080, 4143, 4191)),
  protocol: fc.constantFrom(undefined, 'TCP', 'UDP'),
}, { requiredKeys: ['containerPort'] });

const container = (name: string) => fc.record({
  name: fc.constant(name),
  image: fc.constantFrom('example/app:1', 'busybox'),
  command: fc.option(fc.constantFrom(['/app'], ['sh', '-c', 'run']), { nil: undefined }),
  ports: fc.option(fc.uniqueArray(port, { maxLength: 3, selector: (p) => `${p.containerPort}/${p.protocol ?? 'TCP'}` }), { nil: undefined }),
  lifecycle: preStop.map((p) => (p ? { preStop: p } : undefined)),
}, { requiredKeys: ['name', 'image'] }).map((c) => JSON.parse(JSON.stringify(c)) as Record<string, unknown>);

const annotations = fc.option(fc.dictionary(
  fc.constantFrom('team', 'config.ebb.io/mode', 'config.ebb.io/wait-before-exit-seconds', 'ebb.io/inject', 'config.linkerd.io/admin-port'),
  fc.constantFrom('a', 'classic', 'native', '5', '40', '-3', 'disabled', 'enabled'),
  { maxKeys: 3 },
), { nil: undefined });

const podSpec = fc.record({
  containers: fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => container(`app${i}`)))),
  initContainers: fc.option(fc.tuple(container('init').map((c) => ({ ...c, lifecycle: undefined })), fc.boolean()).map(([c, sidecar]) => [JSON.parse(JSON.stringify(sidecar ? { ...c, restartPolicy: 'Always' } : c))]), { nil: undefined }),
  terminationGracePeriodSeconds: fc.option(seconds, { nil: undefined }),
  hostNetwork: fc.option(fc.boolean(), { nil: undefined }),
  restartPolicy: fc.constantFrom(undefined, 'Never', 'OnFailure'),
}, { requiredKeys: ['containers'] }).map((s) => JSON.parse(JSON.stringify(s)) as Record<string, unknown>);

const template = fc.record({
  metadata: fc.option(fc.record({ labels: fc.option(fc.constant({ app: 'x' }), { nil: undefined }), annotations }, { requiredKeys: [] }), { nil: undefined }),
  spec: podSpec,
}, { requiredKeys: ['spec'] }).map((t) => JSON.parse(JSON.stringify(t)) as Record<string, unknown>);

const workload = fc.tuple(fc.constantFrom('Pod', 'Deployment', 'StatefulSet', 'Job', 'CronJob'), template).map(([kind, tpl]) => {
  const spec = tpl.spec as Record<string, unknown>;
  const restart = kind === 'Job' || kind === 'CronJob' ? (spec.restartPolicy === 'OnFailure' ? 'OnFailure' : 'Never') : undefined;
  const t: Record<string, unknown> = { ...tpl, spec: { ...spec, ...(restart ? { restartPolicy: restart } : {}) } };
  if (!restart) delete (t.spec as Record<string, unknown>).restartPolicy;
  const meta = { name: 'w' };
  switch (kind) {
    case 'Pod': return { apiVersion: 'v1', kind, metadata: { ...meta, ...((t.metadata as object | undefined) ?? {}) }, spec: t.spec };
    case 'Deployment':
    case 'StatefulSet': return { apiVersion: 'apps/v1', kind, metadata: meta, spec: { selector: { matchLabels: { app: 'x' } }, template: t } };
    case 'Job': return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { template: t } };
    default: return { apiVersion: 'batch/v1', kind, metadata: meta, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: t } } } };
  }
});

const config = fc.record({
  mode: fc.constantFrom('native', 'classic'),
  'wait-before-exit-seconds': fc.integer({ min: 0, max: 60 }).map(String),
  'kube-version': fc.constantFrom('1.28', '1.29', '1.30', '1.31'),
  'job-exit': fc.constantFrom('watch', 'await', 'none'),
}).map((raw) => {
  const r = resolveInjectConfig(raw);
  assert.deepEqual(r.problems, []);
  return r.config;
});

function schemaValid(obj: unknown): boolean {
  const M = MODELS[(obj as { kind: string }).kind]!;
  try { new M(obj).validate(); return true; } catch { return false; }
}

test('inject/uninject properties hold for generated workloads in every mode', () => {
  let injected = 0;
  fc.assert(fc.property(workload, config, (x, cfg) => {
    const before = structuredClone(x);
    const r = inject(x, cfg);
    assert.deepEqual(x, before, 'input mutated');
    assert.ok(['injected', 'refused', 'skipped'].includes(r.report.status), r.report.status);
    if (r.report.status !== 'injected') { assert.deepEqual(r.patch, []); return; }
    injected++;
    // The patch is valid RFC 6902 against the input as given.
    assert.equal(fjp.validate(r.patch, fjp.deepClone(x)), undefined);
    const out = injectObject(x, cfg).object;
    if (schemaValid(x)) assert.ok(schemaValid(out), 'injected output is not schema-valid');
    assert.deepEqual(uninjectObject(out).object, x, 'uninject(inject(x)) != x');
    assert.deepEqual(injectObject(out, cfg).object, out, 'inject(inject(x)) != inject(x)');
  }), { numRuns: 600, seed: 20261127 });
  if (process.env.EBB_TEST_DEBUG) console.log('injected runs', injected);
  assert.ok(injected > 120, `only ${injected} runs were injected`);
});

test('the CLI path (patch applied to the parsed YAML document) writes exactly what the pure patch gives', () => {
  fc.assert(fc.property(workload, config, fc.boolean(), (x, cfg, flow) => {
    const r = inject(x, cfg);
    if (r.report.status !== 'injected') return;
    // Block or flow style input, with a comment, so the Document API path is exercised both ways.
    const text = `# generated\n${stringify(x, flow ? { collectionStyle: 'flow' } : {})}`;
    const [doc] = parseSource({ name: 'gen.yaml', text });
    const out = transformDoc(doc!, (o) => inject(o, cfg));
    const written = parseDocument(render([out], 'yaml')).toJS() as unknown;
    assert.deepEqual(written, injectObject(x, cfg).object);
  }), { numRuns: 150, seed: 20261128 });
});
