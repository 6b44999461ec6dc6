import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenarioByName } from '../../src/lab/run.js';
import { DEFAULT_SETTINGS, type LabSettings } from '../../src/lab/settings.js';
import { runEbb } from '../helpers.js';

// A short real lab: real `ebb proxy` and demo app processes, real signals, low rate. The
// propagation delay (2.5 s) is long against the lack of a wait, and shorter than N = 4.
const settings: LabSettings = {
  ...DEFAULT_SETTINGS, rps: 40, propagationDelay: 2.5, fixedWait: 4, warmup: 1, latency: '5ms:95,300ms:5', timeLimit: 120,
  // Clients that move every request after their delay: what these recipes are sized for.
  clientModel: 'mesh',
};
const opts = () => ({ deadline: performance.now() + 120_000 });

test('classic-no-wait loses requests when clients learn of the removal late', async () => {
  const run = await runScenarioByName('classic-no-wait', settings, opts());
  const r = run.result;
  assert.ok(r.requests.failed > 0, `no request lost: ${JSON.stringify(r.requests)}`);
  assert.ok(r.requests.byOutcome.refused > 0);
  assert.ok(r.podGoneSeconds !== null);
});

test('classic-wait loses no request, and the app gets TERM only after its preStop', async () => {
  const run = await runScenarioByName('classic-wait', settings, opts());
  const r = run.result;
  assert.equal(r.requests.failed, 0, JSON.stringify(r.requests.byOutcome));
  assert.ok(r.requests.total > 50);
  const app = r.phases.containers.app!;
  assert.ok(app.preStop && app.term !== null && app.term >= app.preStop.end!);
});

test('classic-auto loses no request, and `ebb lab --json` prints the contract\'s fields', async () => {
  const res = await runEbb(['lab', '--scenario', 'classic-auto', '--json', '--rps', '40', '--propagation-delay', '2.5',
    '--fixed-wait', '4', '--warmup', '1', '--latency', '5ms:95,300ms:5', '--time-limit', '120'], { timeoutMs: 150_000 });
  assert.equal(res.code, 0, res.stderr);
  const out = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
  assert.equal(out.length, 1);
  const r = out[0]!;
  // On real addressing (the default where the machine can) the app's own calls out are counted too.
  const realAddressing = (r.config as { addressing: string }).addressing === 'pod-ip';
  assert.deepEqual(Object.keys(r).sort(), [...(realAddressing ? ['appOutbound'] : []), 'config', 'firstFailureSeconds', 'lastArrivalSeconds', 'name', 'phases', 'podGoneSeconds', 'proxyAtT0', 'requests']);
  assert.equal(r.name, 'classic-auto');
  const req = r.requests as { failed: number; byOutcome: Record<string, number> };
  assert.equal(req.failed, 0, JSON.stringify(req.byOutcome));
  assert.ok((r.podGoneSeconds as number) > (r.lastArrivalSeconds as number), 'the proxy waited for the last arrival');
});
