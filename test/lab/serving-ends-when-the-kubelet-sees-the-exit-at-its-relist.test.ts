import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lab/clock.js';
import { podModelFromSpec, type ContainerDriver } from '../../src/lab/kubelet.js';
import { Pleg } from '../../src/lab/pleg.js';
import { ServingWatch } from '../../src/lab/readiness.js';

// A last replica's endpoint stops `serving` when its Ready condition changes, which the kubelet
// computes once it has seen the container exit: at its next PLEG relist, not at the exit.
function setup(): { driver: ContainerDriver; exit: () => void } {
  let exit!: () => void;
  const exited = new Promise<void>((r) => { exit = r; });
  return { exit, driver: { signal: () => {}, exited: () => exited, httpGet: () => Promise.resolve({ ok: true, detail: '200' }) } };
}
const model = podModelFromSpec({ containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }] });

test('with the generic PLEG (1 s) the pod stops serving at the relist after the exit', async () => {
  const clock = new FakeClock();
  const { driver, exit } = setup();
  const watch = new ServingWatch(model, driver, clock, new Pleg(1000, clock));
  watch.start();
  await clock.advance(2300);
  exit();
  await clock.advance(500);
  assert.equal(watch.notServingSince, null, 'the kubelet cannot know before its relist');
  await clock.advance(500);
  assert.equal(watch.notServingSince, 3000);
  assert.equal(watch.why, 'app exited');
  watch.stop();
});

test('with --pleg-period 0 it stops serving at the exit', async () => {
  const clock = new FakeClock();
  const { driver, exit } = setup();
  const watch = new ServingWatch(model, driver, clock, new Pleg(0, clock));
  watch.start();
  await clock.advance(2300);
  exit();
  await clock.advance(1);
  assert.equal(watch.notServingSince, 2300);
  watch.stop();
});

test('a readiness probe with host localhost goes to the node\'s loopback: it fails without reaching the pod', async () => {
  const clock = new FakeClock();
  let sent = 0;
  const driver: ContainerDriver = { host: '198.19.0.2', signal: () => {}, exited: () => new Promise(() => {}), httpGet: () => { sent++; return Promise.resolve({ ok: true, detail: '200' }); } };
  const probed = podModelFromSpec({ containers: [{ name: 'app', ports: [{ containerPort: 8080 }],
    readinessProbe: { httpGet: { host: 'localhost', path: '/ready', port: 8080 }, periodSeconds: 1, failureThreshold: 1 } }] });
  const watch = new ServingWatch(probed, driver, clock, new Pleg(0, clock));
  watch.start();
  await clock.advance(1000);
  assert.equal(sent, 0);
  assert.equal(watch.notServingSince, 1000);
  assert.match(String(watch.why), /app: readiness GET \/ready failed 1 time\(s\) \(host localhost is the node's own loopback/);
  watch.stop();
});
