/**
 * The report says how clients reached the pods: by default, where the machine can (root, Linux,
 * iproute2/iptables, the addon), real addressing — pods in network namespaces behind ebb init,
 * clients to the pod IP and the app's port; otherwise loopback, with the reason. --no-transparent
 * asks for loopback. The client model (how many clients, which protocols, their delays) is stated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb } from '../helpers.js';
import { transparentUnavailableReason } from '../../src/lab/netns.js';

const QUICK = ['--scenario', 'native', '--fixed-wait', '1', '--propagation-delay', '0.5', '--warmup', '0.5', '--rps', '20', '--time-limit', '60'];

test('--no-transparent: loopback addressing, said in the text and in the JSON', async () => {
  const text = await runEbb(['lab', '--no-transparent', ...QUICK]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^addressing: loopback: clients connect to 127\.0\.0\.1 and the proxy's own inbound port.*\(real addressing not used: asked for with --no-transparent\)$/m);
  assert.match(text.stdout, /^client model: \d+ clients over 20 requests\/s speaking HTTP\/1\.1 .*plus HTTP\/2 cleartext when the app answers it .*spread over \[0, 0\.5\] s/m);
  const json = await runEbb(['lab', '--no-transparent', '--json', ...QUICK]);
  const [r] = JSON.parse(json.stdout) as { config: { addressing: string; clientDescription: string } }[];
  assert.equal(r!.config.addressing, 'loopback');
  assert.match(r!.config.clientDescription, /clients over 20 requests\/s/);
});

test('by default: real addressing where this machine can run it, else loopback with the reason', async () => {
  const why = transparentUnavailableReason();
  const r = await runEbb(['lab', '--json', ...QUICK]);
  assert.equal(r.code, 0, r.stderr);
  const [res] = JSON.parse(r.stdout) as { config: { addressing: string }; byOutcome: Record<string, number> }[];
  assert.equal(res!.config.addressing, why === undefined ? 'pod-ip' : 'loopback');
  const text = await runEbb(['lab', ...QUICK]);
  if (why === undefined) assert.match(text.stdout, /^addressing: real: each pod in its own network namespace .*clients connect to the pod's IP and the app's port/m);
  else assert.ok(text.stdout.includes(`(real addressing not used: ${why})`), text.stdout.split('\n')[0]);
});
