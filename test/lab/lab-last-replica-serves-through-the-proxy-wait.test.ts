import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenarioByName } from '../../src/lab/run.js';
import { DEFAULT_SETTINGS, type LabSettings } from '../../src/lab/settings.js';

// The last replica (KEP-1669): kube-proxy keeps sending to the terminating pod while it is
// `serving`. The proxy's readiness probe (period 2 s, failureThreshold 1) must keep passing while
// the proxy still serves (its auto wait, MAX 4 s here), so the pod stops serving only once the
// proxy drains or a container exits, and nothing is lost before that.
const settings: LabSettings = {
  ...DEFAULT_SETTINGS, rps: 40, propagationDelay: 0, warmup: 1, latency: '5ms', autoWait: 'auto:2:2:4', timeLimit: 120,
};

test('last-replica: the old pod keeps serving through the proxy\'s wait; readiness fails only from draining on', async () => {
  const run = await runScenarioByName('last-replica', settings, { deadline: performance.now() + 120_000 });
  const r = run.result;
  assert.equal(r.config.lastReplica, true);
  assert.ok(r.serving, 'the report says when the pod stopped serving');
  assert.doesNotMatch(String(r.serving.endedBy), /\(waiting\)/, `readiness failed while the proxy was still serving: ${r.serving.endedBy}`);
  const proxy = r.phases.containers['ebb-proxy']!;
  // The proxy waited (MAX 4 s, continuous traffic never goes quiet) before it drained.
  assert.ok(r.serving.endedSeconds === null || r.serving.endedSeconds > 2.5, JSON.stringify(r.serving));
  // No request sent to the old pod in the first 2.5 s failed (the probe at 2 s still passed).
  const early = run.records.filter((x) => x.start >= 0 && x.start < 2500);
  assert.ok(early.length > 20);
  assert.ok(early.every((x) => x.outcome === 'ok'), JSON.stringify(early.find((x) => x.outcome !== 'ok')));
  assert.ok(proxy.exit !== null);
});
