import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lab/clock.js';
import { deletePod, podModelFromSpec, type ContainerDriver } from '../../src/lab/kubelet.js';

// The runtime's StopContainer sends lifecycle.stopSignal (KEP-4960), else the image's STOPSIGNAL,
// else SIGTERM; the lab sent SIGTERM whatever the container said.
test('the kubelet simulator sends each container its lifecycle.stopSignal, else SIGTERM', async () => {
  const model = podModelFromSpec({
    terminationGracePeriodSeconds: 5,
    containers: [{ name: 'nginx', lifecycle: { stopSignal: 'SIGQUIT' } }, { name: 'app' }, { name: 'short', lifecycle: { stopSignal: 'USR2' } }],
  });
  const sent: string[] = [];
  const exits = new Map<string, () => void>();
  const gone = new Map<string, Promise<void>>();
  for (const c of model.containers) gone.set(c.name, new Promise((r) => exits.set(c.name, r)));
  const driver: ContainerDriver = {
    signal(name, sig) { sent.push(`${name} ${sig}`); exits.get(name)!(); },
    exited: (name) => gone.get(name)!,
    httpGet: () => Promise.resolve({ ok: true, detail: '' }),
  };
  const clock = new FakeClock();
  const done = deletePod(model, driver, { clock });
  await clock.advance(10_000);
  await done;
  assert.deepEqual(sent.sort(), ['app SIGTERM', 'nginx SIGQUIT', 'short SIGUSR2']);
});
