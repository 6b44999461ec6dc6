import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runEbb } from '../helpers.js';

// `ebb lab --sidecar-command`: another proxy in ebb-proxy's place, under the same load and kubelet.
// Here a forwarder with no drain at all (it dies at TERM): the lab must run it with the substituted
// ports, carry the load through it, and count the requests lost when it goes.
const FORWARDER = fileURLToPath(new URL('./tcp-forwarder.js', import.meta.url));

test('--sidecar-command runs another proxy in ebb-proxy\'s place, with {listenPort} and {appPort} substituted', async () => {
  const cmd = `${process.execPath} ${FORWARDER} {listenPort} {appPort}`;
  const res = await runEbb(['lab', '--scenario', 'classic-no-wait', '--json', '--sidecar-command', cmd, '--rps', '40',
    '--propagation-delay', '2.5', '--warmup', '1', '--latency', '5ms', '--time-limit', '120'], { timeoutMs: 150_000 });
  assert.equal(res.code, 0, res.stderr);
  const [r] = JSON.parse(res.stdout) as Array<{ requests: { total: number; ok: number; failed: number; byOutcome: Record<string, number> };
    config: { sidecarCommand: string | null }; phases: { containers: Record<string, { term: number | null; exit: number | null }> } }>;
  assert.equal(r!.config.sidecarCommand, cmd);
  // Before t0 every request went through the forwarder and was answered.
  assert.ok(r!.requests.ok > 0, JSON.stringify(r!.requests));
  // The forwarder exits at its TERM (t0): clients that learn of the removal late are refused.
  const proxy = r!.phases.containers['ebb-proxy']!;
  assert.ok(proxy.term !== null);
  assert.ok(proxy.exit !== null);
  assert.ok(r!.requests.byOutcome.refused! > 0, JSON.stringify(r!.requests));
});
