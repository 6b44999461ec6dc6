import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMPARE, scenario } from '../../src/lab/scenarios.js';
import { jobScenarioRun } from '../../src/lab/job-scenario.js';
import { renderReport } from '../../src/lab/report.js';
import type { JobSetupResult } from '../../src/lab/job.js';

function result(setup: JobSetupResult['setup'], over: Partial<JobSetupResult>): JobSetupResult {
  return {
    setup, completed: true, appExitSeconds: 3, appExitCode: 0, proxyExitSeconds: 3.1, proxyExitCode: 0, completedSeconds: 3.1,
    calls: { total: 2, ok: 2, failed: 0 }, targetReceived: 2, pidNamespace: true, notes: [], proxyLines: [],
    callRecords: [{ i: 0, ok: true, status: 200, start: 0, end: 5 }, { i: 1, ok: true, status: 200, start: 1500, end: 1505 }],
    ...over,
  };
}

test('the job scenario is registered for --scenario job and --compare', () => {
  assert.ok(scenario('job'));
  assert.ok(COMPARE.includes('job'));
});

test('the job report says per setup whether and when the pod completed, and counts the outbound calls', () => {
  const run = jobScenarioRun([
    result('native', {}),
    result('classic-watch', { proxyExitSeconds: 8.2, completedSeconds: 8.2 }),
    result('classic-await', {}),
    result('classic-none', { completed: false, proxyExitSeconds: null, proxyExitCode: null, completedSeconds: null, waitedSeconds: 15 }),
  ]);
  assert.equal(run.result.name, 'job');
  assert.deepEqual([run.result.requests.total, run.result.requests.ok], [8, 8]);
  const text = renderReport([run]);
  assert.match(text, /pod completed\s+yes, 3\.10 s\s+yes, 8\.20 s\s+yes, 3\.10 s\s+NO \(waited 15 s\)/);
  assert.match(text, /outbound calls ok\s+2\/2\s+2\/2\s+2\/2\s+2\/2/);
  assert.match(text, /none\/proxy/);
  const skipped = jobScenarioRun([result('classic-watch', { skipped: 'needs a PID namespace' })]);
  assert.ok(skipped.notes.some((n) => /classic-watch: skipped: needs a PID namespace/.test(n)));
});
