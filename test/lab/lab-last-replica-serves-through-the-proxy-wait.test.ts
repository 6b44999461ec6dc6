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

test('last-replica: the old pod keeps serving through the proxy\'s wait; readiness fails only once the wait is over', async () => {
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

// After its wait the proxy fails /ready but keeps accepting (withdrawing) until kube-proxy has
// stopped sending: the clients, who have no other endpoint, are never refused while it serves.
test('last-replica: nothing is lost; the proxy withdraws (still accepting) until the pod stops serving, then drains', async () => {
  const run = await runScenarioByName('last-replica', settings, { deadline: performance.now() + 120_000 });
  const r = run.result;
  const lost = run.records.filter((x) => x.outcome !== 'ok' && x.outcome !== 'no-endpoint');
  assert.equal(r.requests.failed, lost.length);
  assert.deepEqual(lost.map((x) => `${x.outcome} at ${x.start} ms: ${x.error ?? ''}`), [], 'no request lost while the old pod was serving');
  assert.ok(r.serving && r.serving.endedSeconds !== null, JSON.stringify(r.serving));
  assert.match(String(r.serving.endedBy), /withdrawing/, 'readiness failed while the proxy was withdrawing, not once it refused');
  assert.ok(r.requests.noEndpoint > 0, 'the clients then found no endpoint (the Service scaled to zero)');
  assert.ok(run.notes.some((n) => /withdrew .* ended by quiet/.test(n)), run.notes.join('\n'));
});
