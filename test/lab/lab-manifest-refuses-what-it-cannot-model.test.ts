/**
 * `ebb lab --manifest` refuses, with the reason and what to run instead, manifests whose run would
 * mean nothing: another mesh's proxy (the lab would play it with ebb), a Job or CronJob (its pod
 * ends with its work, not under load), a workload without a port. Nothing is started for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runEbb } from '../helpers.js';
import { BUNDLED } from '../inject/corpus.js';

const cases: [string, RegExp][] = [
  ['linkerd-injected-deployment.yaml', /workload of Linkerd: the lab runs ebb proxy .* cannot play linkerd-proxy.*ebb check/],
  ['istio-native-sidecar-pod.yaml', /workload of Istio: .*cannot play istio-proxy/],
  ['linkerd-injected-job.yaml', /workload of Linkerd/],
  ['job-portless.yaml', /is a Job: its pod ends when its work ends.*ebb lab --scenario job/],
  ['cronjob-on-failure.yaml', /is a CronJob: .*ebb lab --scenario job/],
  ['worker-deployment-portless.yaml', /declares no TCP containerPort: nothing for the lab's clients to send to/],
];

for (const [file, why] of cases) {
  test(`ebb lab --manifest ${file} is refused with its reason (exit 2, nothing run)`, async () => {
    const r = await runEbb(['lab', '--manifest', join(BUNDLED, file)]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /running|at .*\.js:\d+/, 'no run started, no stack trace');
  });
}
