/**
 * Every document of ../shared/corpus/linkerd2-inject-inputs (manifests written by others, used as
 * they are) goes through inject and uninject in both modes without a crash: injected output is
 * schema-valid (kubernetes-models), uninject(inject(x)) == x and inject(inject(x)) == inject(x).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { inject, injectObject, uninjectObject, resolveInjectConfig, type InjectConfig, type ResourceReport } from '../../src/inject/index.js';
import { parseSource, readSources } from '../../src/manifests/read.js';
import { isList } from '../../src/manifests/transform.js';
import { runTransform } from '../../src/cli/inject.js';
import { InputError } from '../../src/errors.js';
import { corpusDir } from './corpus.js';

const require = createRequire(import.meta.url);
type Model = { new (data: unknown): { validate(): void }; apiVersion: string };
const apps = require('kubernetes-models/apps/v1') as Record<string, Model>;
const core = require('kubernetes-models/v1') as Record<string, Model>;
const batch = require('kubernetes-models/batch/v1') as Record<string, Model>;
const MODELS: Record<string, Model> = {
  Deployment: apps.Deployment!, StatefulSet: apps.StatefulSet!, DaemonSet: apps.DaemonSet!, ReplicaSet: apps.ReplicaSet!,
  Pod: core.Pod!, ReplicationController: core.ReplicationController!, Namespace: core.Namespace!,
  Job: batch.Job!, CronJob: batch.CronJob!,
};

/**
 * Schema problems of an object against the current model of its kind, with array indices blurred
 * (classic mode shifts the app containers by one). Some corpus inputs use an old or wrong
 * apiVersion (batch/v1beta1 CronJob, a Pod marked apps/v1), so the kind's current model is used.
 */
function schemaErrors(obj: unknown): string[] {
  const kind = (obj as { kind: string }).kind;
  const M = MODELS[kind];
  assert.ok(M, `no schema model for ${kind}`);
  try {
    new M({ ...(obj as object), apiVersion: M.apiVersion }).validate();
    return [];
  } catch (e) {
    const errs = (e as { errors?: { instancePath: string; message: string }[] }).errors;
    if (!errs) throw e;
    return errs.map((x) => `${x.instancePath.replace(/\/\d+/g, '/*')} ${x.message}`).sort();
  }
}

/** Injection adds no schema problem: the output's problems are among the input's (usually none). */
function assertNoNewSchemaErrors(input: unknown, output: unknown, what: string): void {
  const before = new Set(schemaErrors(input));
  const added = schemaErrors(output).filter((e) => !before.has(e));
  assert.deepEqual(added, [], `${what}: injection made the object schema-invalid`);
}

const DIR = join(corpusDir(), 'linkerd2-inject-inputs');

function files(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.ya?ml$/.test(n) ? [p] : [];
  });
}

const CONFIGS: [string, InjectConfig][] = [
  ['native', resolveInjectConfig({}).config],
  ['classic', resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '10' }).config],
];

test('the schema validator is not vacuous: it rejects a broken pod', () => {
  assert.notDeepEqual(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', ports: [{ containerPort: 'eighty' }] }] } }), []);
  assert.deepEqual(schemaErrors({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'a', image: 'a' }] } }), []);
});

test('the corpus is there and has the documents its README lists', () => {
  assert.ok(files(DIR).length >= 30);
});

let validInputs = 0;
const seen = new Map<string, ResourceReport[]>();

for (const file of files(DIR)) {
  const name = relative(DIR, file);
  test(`corpus: ${name} through inject and uninject`, () => {
    const [source] = readSources([file], () => '');
    let docs;
    try {
      docs = parseSource(source!);
    } catch (e) {
      assert.ok(e instanceof InputError, `unexpected ${String(e)}`);
      assert.match(name, /\.bad\./, 'only the malformed corpus file may fail to parse');
      assert.match(e.message, /:\d+:\d+: invalid YAML/);
      return;
    }
    const reports: ResourceReport[] = [];
    for (const d of docs) {
      if (d.value === null) continue;
      const items = isList(d.value) ? d.value.items : [d.value];
      for (const x of items) {
        for (const [mode, config] of CONFIGS) {
          const r = inject(x, config);
          if (mode === 'native') reports.push(r.report);
          if (r.report.status !== 'injected' && r.report.status !== 'annotated') {
            assert.deepEqual(r.patch, [], `${name}: ${r.report.status} must not change anything`);
            continue;
          }
          const out = injectObject(x, config).object;
          if (schemaErrors(x).length === 0) { validInputs++; assert.deepEqual(schemaErrors(out), [], `${name} (${mode})`); }
          assertNoNewSchemaErrors(x, out, `${name} (${mode})`);
          assert.deepEqual(uninjectObject(out).object, x, `${name} (${mode}): uninject(inject(x)) != x`);
          assert.deepEqual(injectObject(out, config).object, out, `${name} (${mode}): inject is not idempotent`);
        }
      }
    }
    // And the whole file through the CLI's path: no crash, exit 0 or a refusal (exit 1).
    const cli = runTransform(docs, CONFIGS[0]![1], { format: 'yaml', verbose: true });
    assert.ok(cli.exitCode === 0 || (cli.exitCode === 1 && /refused/.test(cli.stderr)), cli.stderr);
    seen.set(name, reports);
  });
}

test('corpus outcomes: refusals and skips land where they should', () => {
  const outcome = (file: string): string[] => (seen.get(file) ?? []).map((r) => `${r.name}:${r.status}${r.reason ? `:${r.reason}` : ''}`);
  assert.deepEqual(outcome('inject_emojivoto_deployment_hostNetwork_true.input.yml'), ['web:refused:host_network']);
  assert.deepEqual(outcome('inject_emojivoto_istio.input.yml'), ['web:refused:other_mesh']);
  assert.deepEqual(outcome('inject_emojivoto_already_injected.input.yml'), ['web1:refused:other_mesh', 'web2:refused:other_mesh', 'web3:refused:other_mesh', 'web4:refused:other_mesh']);
  assert.deepEqual(outcome('inject_emojivoto_namespace_good.input.yml'), ['emojivoto:annotated']);
  assert.ok(outcome('inject_emojivoto_deployment_hostNetwork_false.input.yml').every((o) => o.endsWith(':injected')));
  assert.ok(outcome('inject_emojivoto_list.input.yml').length === 2);
  // linkerd.io/inject: disabled is Linkerd's annotation, not ours: ebb injects.
  assert.ok(outcome('inject_emojivoto_deployment_injectDisabled.input.yml').every((o) => o.endsWith(':injected')));
  assert.deepEqual(outcome('webhook/deployment-with-injected-proxy.yaml'), ['nginx:refused:other_mesh']);
  // Most corpus inputs are schema-valid themselves, and their injected output is fully valid.
  assert.ok(validInputs > 20, `only ${validInputs} schema-valid injections`);
});
