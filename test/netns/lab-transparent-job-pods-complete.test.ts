/**
 * The lab's job scenario with --transparent: each Job pod in a network namespace of its own behind
 * `ebb init`'s rules, the proxy as uid 2102, the app calling the target by address through the
 * outbound listener. A Job has no port to watch, so in classic mode the outbound listener must close
 * as soon as the shutdown says the app's work is done (the exit watch, or `ebb await --shutdown`),
 * not at the drain deadline: the proxy's drain must end idle, not by force.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { netnsUnavailableReason } from './netns.js';
import { canMakePidNamespace, runJobSetup, type JobOptions, type JobSetup } from '../../src/lab/job.js';
import { ADDON_PATH } from '../../src/native/original-dst.js';

const skip = netnsUnavailableReason() ?? (existsSync(ADDON_PATH) ? undefined : `the native addon was not built (${ADDON_PATH})`)
  ?? (canMakePidNamespace() ? undefined : 'needs unshare(1) for the pod\'s PID namespace');
const O: JobOptions = { calls: 6, spacingMs: 500, completeWaitMs: 60_000, limitMs: 150_000, transparent: true };

const EXPECT: Array<[JobSetup, string]> = [['native', 'SIGTERM'], ['classic-await', 'POST /shutdown'], ['classic-watch', 'app-exited']];

for (const [setup, reason] of EXPECT) {
  test(`${setup} in its own network namespace: calls go out through ebb init's rules, and the pod completes without waiting for the drain deadline`, { skip }, async () => {
    const r = await runJobSetup(setup, O);
    const dump = JSON.stringify({ ...r, callRecords: undefined }, null, 1);
    assert.ok(r.notes.some((n) => /^ebb-init: ebb init: IPv4 nat rules applied/.test(n)), dump);
    assert.equal(r.completed, true, dump);
    assert.equal(r.appExitCode, 0, dump);
    assert.equal(r.proxyExitCode, 0, dump);
    assert.deepEqual(r.calls, { total: 6, ok: 6, failed: 0 }, dump);
    assert.equal(r.targetReceived, 6, dump);
    const summary = r.proxyLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((j) => j.msg === 'shutdown complete');
    assert.ok(summary, dump);
    assert.equal(summary.reason, reason, dump);
    assert.equal(summary.drainEndedBy, 'idle', `the proxy's drain was ended by force: ${dump}`);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`ebblab-job-${setup}-${process.pid}-`));
    assert.deepEqual(left, [], 'the pod\'s namespace was deleted');
  });
}
