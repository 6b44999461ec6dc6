/**
 * Over the bundled realistic manifests × inject's timing flags (fast-check, bounded):
 * - inject never writes what `ebb check` calls an error, unless the input itself asks for it (the
 *   user's own preStop longer than the grace period or not shorter than the wait asked for, a
 *   wait asked for longer than the grace period);
 * - check's timeline (src/inject/termination.ts) equals what the lab's kubelet simulator does with
 *   the same spec (src/lab/kubelet.ts, run on a fake clock): every container's stop signal, SIGKILL
 *   and exit, to the millisecond, also with a deletion's --grace-period.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { check, injectObject, resolveInjectConfig, type Finding } from '../../src/inject/index.js';
import { planContainers, planTermination, type PlanContainer } from '../../src/inject/termination.js';
import { FakeClock } from '../../src/lab/clock.js';
import { deletePod, podModelFromSpec, podSpecOf, type ContainerDriver, type KubeletEvent } from '../../src/lab/kubelet.js';
import { parseSource } from '../../src/manifests/read.js';
import { isList } from '../../src/manifests/transform.js';
import { BUNDLED, manifestFiles } from '../inject/corpus.js';

/** Every workload with a pod template in the bundled manifests that ebb itself would inject. */
const workloads: Array<{ file: string; object: Record<string, unknown> }> = [];
for (const file of manifestFiles(BUNDLED).filter((f) => !f.includes('.bad.') && !f.includes(`${join('fixtures', 'manifests', 'webhook')}`))) {
  let docs;
  try { docs = parseSource({ name: file, text: readFileSync(file, 'utf8') }); } catch { continue; }
  for (const d of docs) {
    if (d.value === null) continue;
    for (const item of isList(d.value) ? d.value.items : [d.value]) {
      if (item && typeof item === 'object' && podSpecOf(item)) workloads.push({ file, object: item as Record<string, unknown> });
    }
  }
}

const flags = fc.record({
  mode: fc.constantFrom('native', 'classic'),
  'wait-before-exit-seconds': fc.constantFrom(undefined, '0', '5', '12', '40'),
  'wait-before-exit': fc.constantFrom(undefined, 'auto'),
  'app-wait': fc.constantFrom(undefined, 'none', 'auto'),
  'drain-timeout-seconds': fc.constantFrom(undefined, '5', '30'),
  transparent: fc.constantFrom('true', 'false'),
  'kube-version': fc.constantFrom('1.29', '1.31', '1.33'),
}, { requiredKeys: [] });

/** Errors the input itself asks for; anything else inject must not write. */
function inputsFault(f: Finding, grace: number, wait: number, explicitDrain: boolean): boolean {
  if (f.params.hook === 'wait-quiet') return false;
  if (f.code === 'drain_exceeds_grace') return explicitDrain;
  if (f.code === 'app_prestop_exceeds_grace' || f.code === 'app_prestop_not_shorter') return true;
  if (f.code === 'wait_exceeds_grace') return wait > grace;
  // A fixed wait that leaves less than the minimum drain (5 s) leaves the auto wait nothing to fit into.
  return f.code === 'auto_wait_exceeds_grace' && wait + 5 > grace;
}

/** A driver whose containers do what the plan assumes: exit stopSeconds after TERM, hooks last hookSeconds. */
function fakeDriver(clock: FakeClock, plan: readonly PlanContainer[]): ContainerDriver {
  const exits = new Map<string, { done: boolean; promise: Promise<void>; resolve: () => void }>();
  const entry = (name: string) => {
    let e = exits.get(name);
    if (!e) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      const made = { done: false, promise, resolve: () => { made.done = true; resolve(); } };
      exits.set(name, made);
      e = made;
    }
    return e;
  };
  const of = (name: string): PlanContainer | undefined => plan.find((c) => c.name === name);
  return {
    signal(name, sig) {
      const e = entry(name);
      if (sig === 'SIGKILL') { e.resolve(); return; }
      clock.setTimeout(() => e.resolve(), (of(name)?.stopSeconds ?? 0) * 1000);
    },
    exited: (name) => entry(name).promise,
    httpGet(name, _action, signal) {
      return new Promise((resolve) => {
        const t = clock.setTimeout(() => resolve({ ok: true, detail: '200' }), (of(name)?.hookSeconds ?? 0) * 1000);
        signal.addEventListener('abort', () => { clock.clearTimeout(t); resolve({ ok: false, detail: 'aborted' }); }, { once: true });
      });
    },
  };
}

async function labEvents(spec: Record<string, unknown>, grace: number, plan: readonly PlanContainer[]): Promise<KubeletEvent[]> {
  const model = podModelFromSpec(spec);
  model.graceSeconds = grace;
  const clock = new FakeClock();
  const done = deletePod(model, fakeDriver(clock, plan), { clock });
  let events: KubeletEvent[] | undefined;
  void done.then((e) => { events = e; });
  // Bounded: a deletion ends by G + 2 s per native sidecar + the sidecars' whole grace; 20 steps of a minute.
  for (let i = 0; i < 40 && events === undefined; i++) await clock.advance(60_000);
  assert.ok(events, 'the lab\'s deletion finished');
  return events;
}

test('inject never writes what check calls an error, and check\'s timeline equals the lab kubelet\'s', async () => {
  assert.ok(workloads.length >= 10, `only ${workloads.length} workloads found in ${BUNDLED}`);
  await fc.assert(fc.asyncProperty(fc.constantFrom(...workloads), flags, fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), async (w, raw, override) => {
    const { config, problems } = resolveInjectConfig(raw, { injectedBy: 'property test' });
    if (problems.length) return;
    const { object, report } = injectObject(w.object, config);
    if (report.status !== 'injected') return;
    const checked = check(object, config);
    const spec = podSpecOf(object)!;
    const g = spec.terminationGracePeriodSeconds;
    const grace = typeof g === 'number' ? g : 30;
    const errors = checked.findings.filter((f) => f.severity === 'error' && !inputsFault(f, grace, config.waitBeforeExitSeconds, raw['drain-timeout-seconds'] !== undefined));
    assert.deepEqual(errors.map((f) => `${f.code} ${JSON.stringify(f.params)}`), [], `${w.file} with ${JSON.stringify(raw)}`);

    const withGrace = override === undefined ? checked : check(object, config, { graceSeconds: override });
    const m = withGrace.timing!;
    const containers = planContainers(m);
    const plan = planTermination(m.graceSeconds, containers);
    const events = await labEvents(spec, m.graceSeconds, containers);
    const at = (type: string, name: string): number | null => events.find((e) => e.type === type && e.container === name)?.at ?? null;
    for (const p of plan) {
      const got = { term: at('TERM', p.name), kill: at('KILL', p.name), exit: at('exit', p.name) };
      const want = { term: Math.round(p.termAt * 1000), kill: p.killAt === null ? null : Math.round(p.killAt * 1000), exit: Math.round(p.exitAt * 1000) };
      assert.deepEqual(got, want, `${w.file} ${p.name} with ${JSON.stringify(raw)}, grace ${m.graceSeconds}`);
    }
    // And the lab has no container the plan does not know.
    const labNames = new Set(events.filter((e) => e.type === 'TERM').map((e) => e.container));
    assert.deepEqual([...labNames].sort(), plan.map((p) => p.name).sort());
  }), { numRuns: 150, seed: 13 });
});
