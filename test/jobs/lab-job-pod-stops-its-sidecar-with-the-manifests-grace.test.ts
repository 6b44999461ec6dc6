import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJobSetup, type JobOptions } from '../../src/lab/job.js';

// The native Job pod's proxy gets TERM with the grace the kubelet would give it: the pod's
// terminationGracePeriodSeconds (30 when unset), or the deletion's --grace-period, at least 2 s.
const O: JobOptions = { calls: 2, spacingMs: 100, completeWaitMs: 20_000, limitMs: 60_000, plegPeriod: 0 };

test('unset: Kubernetes\' default 30 s', async () => {
  const r = await runJobSetup('native', O);
  assert.equal(r.completed, true, JSON.stringify(r.notes));
  assert.equal(r.stopGraceSeconds, 30);
});

test('the manifest\'s terminationGracePeriodSeconds, not a fixed 30 s', async () => {
  const r = await runJobSetup('native', { ...O, terminationGracePeriodSeconds: 12 });
  assert.equal(r.graceSeconds, 12);
  assert.equal(r.stopGraceSeconds, 12);
});

test('--grace-period overrides it, floored at the kubelet\'s 2 s minimum', async () => {
  assert.equal((await runJobSetup('native', { ...O, terminationGracePeriodSeconds: 12, gracePeriod: 5 })).stopGraceSeconds, 5);
  assert.equal((await runJobSetup('native', { ...O, gracePeriod: 0 })).stopGraceSeconds, 2);
});
