/**
 * The injected proxy's resources fit what `npm run bench` measures (RSS 57 MB idle, up to 115 MB at
 * its peak under load, docs/inject.md "Resources"): the memory request covers the loaded peak and the
 * limit leaves headroom above it; the readiness probe tolerates a missed answer. Both modes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { injectObject, resolveInjectConfig } from '../../src/inject/index.js';
import { REPO } from './corpus.js';

/** The bench's peak RSS under load, in bytes (the highest of its scenarios, docs/inject.md). */
const PEAK_RSS_UNDER_LOAD = 115e6;

function bytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  assert.ok(m, `not a memory quantity: ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

type Container = { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; readinessProbe?: { failureThreshold?: number } };

for (const mode of ['native', 'classic']) {
  test(`${mode}: memory request >= the bench's loaded peak RSS, limit >= 2x it; readiness failureThreshold >= 2`, () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }] } };
    const out = injectObject(pod, resolveInjectConfig({ mode }).config).object as { spec: { containers: Container[]; initContainers?: Container[] } };
    const proxy = [...(out.spec.initContainers ?? []), ...out.spec.containers].find((c) => c.name === 'ebb-proxy')!;
    const request = bytes(proxy.resources!.requests!.memory!);
    const limit = bytes(proxy.resources!.limits!.memory!);
    assert.ok(request >= PEAK_RSS_UNDER_LOAD, `memory request ${proxy.resources!.requests!.memory} < ${PEAK_RSS_UNDER_LOAD / 1e6} MB measured under load`);
    assert.ok(limit >= 2 * PEAK_RSS_UNDER_LOAD, `memory limit ${proxy.resources!.limits!.memory} leaves no headroom over ${PEAK_RSS_UNDER_LOAD / 1e6} MB`);
    assert.ok((proxy.readinessProbe!.failureThreshold ?? 3) >= 2, 'one missed readiness answer must not take the pod out of its Services');
  });
}

test('docs/inject.md states the measured numbers and the defaults that follow from them', () => {
  const doc = readFileSync(join(REPO, 'docs/inject.md'), 'utf8').replace(/\s+/g, ' ');
  const { resources } = resolveInjectConfig({}).config;
  assert.ok(doc.includes(`memory request \`${resources.memoryRequest}\``), `docs/inject.md should name the memory request ${resources.memoryRequest}`);
  assert.ok(doc.includes(`limit \`${resources.memoryLimit}\``), `docs/inject.md should name the memory limit ${resources.memoryLimit}`);
  assert.match(doc, /66–115 MB/);
});
