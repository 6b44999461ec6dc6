import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canMakePidNamespace, runJobSetup, renderJobTable, type JobOptions, type JobSetupResult } from '../../src/lab/job.js';

// The lab's job scenario with real processes: the injected Job's pod runs its proxy and app, the app
// makes outbound calls through the proxy and exits 0. "Completes" means every container ended.
// The app lives a few seconds, as a Job's work does: far longer than the watcher's 500 ms minimum age
// (an app that lives less than that is indistinguishable from a probe's exec; see docs/jobs.md).
const O: JobOptions = { calls: 6, spacingMs: 500, completeWaitMs: 60_000, limitMs: 150_000 };
const results: JobSetupResult[] = [];

function assertCompleted(r: JobSetupResult): void {
  const dump = JSON.stringify({ ...r, callRecords: undefined }, null, 1);
  assert.equal(r.completed, true, dump);
  assert.equal(r.appExitCode, 0, dump);
  assert.equal(r.proxyExitCode, 0, dump);
  assert.deepEqual(r.calls, { total: 6, ok: 6, failed: 0 }, dump);
  assert.equal(r.targetReceived, 6, dump);
  assert.ok(r.proxyExitSeconds! >= r.appExitSeconds!, `the proxy left before the app was done: ${dump}`);
}

test('native: the proxy gets TERM after the app and exits at once; the pod completes', async () => {
  const r = await runJobSetup('native', O);
  results.push(r);
  assertCompleted(r);
  assert.ok(r.proxyLines.some((l) => l.includes('"reason":"SIGTERM"')));
});

test('classic + await: ebb await --shutdown ends the proxy; the pod completes', async () => {
  const r = await runJobSetup('classic-await', O);
  results.push(r);
  assertCompleted(r);
  assert.ok(r.proxyLines.some((l) => l.includes('"reason":"POST /shutdown"')));
});

test('classic + watch: the proxy sees the app go (shared PID namespace) and exits; the pod completes',
  { skip: canMakePidNamespace() ? false : 'needs root and unshare(1)' }, async () => {
    const r = await runJobSetup('classic-watch', O);
    results.push(r);
    assertCompleted(r);
    assert.ok(r.proxyLines.some((l) => l.includes('"reason":"app-exited"')));
  });

test('classic + none: the app finishes but the pod does not complete (the problem this issue solves)', async () => {
  const r = await runJobSetup('classic-none', { ...O, completeWaitMs: 3000 });
  results.push(r);
  assert.equal(r.completed, false);
  assert.equal(r.appExitCode, 0);
  assert.equal(r.proxyExitSeconds, null);
  assert.deepEqual(r.calls, { total: 6, ok: 6, failed: 0 });
  assert.match(renderJobTable(results), /pod completed .*NO \(waited 3 s\)/);
});
