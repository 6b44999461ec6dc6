import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ratios, type Cell } from '../../bench/lib/report.js';

// Issue 16's HTTP/1 throughput goal (≥ 0.6× HAProxy) is meant with the proxy alone on its core: a
// run in the shared layout shows the ratio without a verdict; the other goals are judged in both.
const cells: Cell[] = [
  { scenario: 'h1', target: 'ebb', status: 'ok', rate: 5000, unit: 'req/s' },
  { scenario: 'h1', target: 'haproxy', status: 'ok', rate: 10000, unit: 'req/s' },
  { scenario: 'h1', target: 'fastify', status: 'ok', rate: 2000, unit: 'req/s' },
];
const h1 = (layout: 'shared' | 'alone', peer: string) => ratios(cells, layout).find((r) => r.kind === 'throughput' && r.peer === peer)!;

test('the HTTP/1 throughput goal against HAProxy is judged with --layout alone only', () => {
  assert.equal(h1('alone', 'haproxy').met, false);
  assert.equal(h1('alone', 'haproxy').target, '≥ 0.6×');
  const shared = h1('shared', 'haproxy');
  assert.equal(shared.value, 0.5);
  assert.equal(shared.met, undefined);
  assert.match(shared.target!, /with --layout alone/);
});

test('a goal without a layout is judged in either', () => {
  for (const layout of ['shared', 'alone'] as const) {
    assert.equal(h1(layout, 'fastify').met, true);
    assert.equal(h1(layout, 'fastify').target, '≥ 1.3×');
  }
});
