/**
 * One manifest file through inject and uninject in both modes, as the corpus tests do it: injected
 * output is schema-valid (kubernetes-models), uninject(inject(x)) == x, inject(inject(x)) == inject(x),
 * and the CLI's path over the whole file ends in exit 0 or a refusal (exit 1), never a crash.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { inject, injectObject, uninjectObject, resolveInjectConfig, type InjectConfig, type ResourceReport } from '../../src/inject/index.js';
import { parseSource, readSources } from '../../src/manifests/read.js';
import { isList } from '../../src/manifests/transform.js';
import { runTransform } from '../../src/cli/inject.js';
import { InputError } from '../../src/errors.js';

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
 * (classic mode shifts the app containers by one). Some inputs use an old or wrong apiVersion
 * (batch/v1beta1 CronJob, a Pod marked apps/v1), so the kind's current model is used.
 */
export function schemaErrors(obj: unknown): string[] {
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

export const CONFIGS: [string, InjectConfig][] = [
  ['native', resolveInjectConfig({}).config],
  ['classic', resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '10' }).config],
];

export interface FileOutcome {
  /** `name:status[:reason]` per resource, native mode, in file order; undefined when the file does not parse. */
  outcomes?: string[];
  /** The parse error, for a malformed file. */
  parseError?: string;
  /** Injections whose input was schema-valid (their output was checked to be fully valid). */
  validInjections: number;
}

export function roundTrip(file: string, name: string): FileOutcome {
  const [source] = readSources([file], () => '');
  let docs;
  try {
    docs = parseSource(source!);
  } catch (e) {
    assert.ok(e instanceof InputError, `${name}: unexpected ${String(e)}`);
    return { parseError: e.message, validInjections: 0 };
  }
  const reports: ResourceReport[] = [];
  let validInjections = 0;
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
        if (schemaErrors(x).length === 0) { validInjections++; assert.deepEqual(schemaErrors(out), [], `${name} (${mode})`); }
        const before = new Set(schemaErrors(x));
        assert.deepEqual(schemaErrors(out).filter((e) => !before.has(e)), [], `${name} (${mode}): injection made the object schema-invalid`);
        assert.deepEqual(uninjectObject(out).object, x, `${name} (${mode}): uninject(inject(x)) != x`);
        assert.deepEqual(injectObject(out, config).object, out, `${name} (${mode}): inject is not idempotent`);
      }
    }
  }
  const cli = runTransform(docs, CONFIGS[0]![1], { format: 'yaml', verbose: true });
  assert.ok(cli.exitCode === 0 || (cli.exitCode === 1 && /refused/.test(cli.stderr)), `${name}: ${cli.stderr}`);
  return {
    outcomes: reports.map((r) => `${r.name}:${r.status}${r.reason ? `:${r.reason}` : ''}`),
    validInjections,
  };
}
