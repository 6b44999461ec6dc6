import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lab/clock.js';
import { deletePod, podModelFromSpec, resolveContainerPort, FAILED_HOOK, type ContainerDriver, type KubeletEvent } from '../../src/lab/kubelet.js';
import { check, findingSentence, resolveInjectConfig } from '../../src/inject/index.js';

/** A pod whose app's preStop names the proxy's admin port: a port of another container. */
const spec = {
  terminationGracePeriodSeconds: 30,
  containers: [
    { name: 'ebb-proxy', image: 'ebb:1', args: ['proxy'], ports: [{ name: 'ebb-admin', containerPort: 4191 }] },
    { name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080 }],
      lifecycle: { preStop: { httpGet: { path: '/wait-quiet?max=20', port: 'ebb-admin' } } } },
  ],
};

test('a port name is resolved only among the ports of the hook\'s own container, as the kubelet\'s resolvePort does', () => {
  const [proxy, app] = spec.containers;
  assert.deepEqual(resolveContainerPort(app!, 'http'), { port: 8080 });
  assert.deepEqual(resolveContainerPort(app!, '9090'), { port: 9090 });
  assert.deepEqual(resolveContainerPort(app!, 7000), { port: 7000 });
  assert.deepEqual(resolveContainerPort(app!, ''), { port: 80 });
  assert.deepEqual(resolveContainerPort(proxy!, 'ebb-admin'), { port: 4191 });
  const r = resolveContainerPort(app!, 'ebb-admin');
  assert.ok('error' in r && /no port named "ebb-admin" in container app/.test(r.error), JSON.stringify(r));
});

test('a preStop whose port names another container\'s port fails at once (FailedPreStopHook) and the kill goes on', async () => {
  const clock = new FakeClock();
  const events: KubeletEvent[] = [];
  const gets: Array<{ container: string; port: number | string }> = [];
  const exited = new Map<string, () => void>();
  const exits = new Map(['ebb-proxy', 'app'].map((n) => [n, new Promise<void>((r) => exited.set(n, r))]));
  const driver: ContainerDriver = {
    signal: (name) => exited.get(name)!(),
    exited: (name) => exits.get(name)!,
    httpGet: (container, action) => { gets.push({ container, port: action.port }); return Promise.resolve({ ok: true, detail: '200' }); },
  };
  const done = deletePod(podModelFromSpec(spec), driver, { clock, onEvent: (e) => events.push(e) });
  await clock.advance(100);
  await done;
  // No request at all: the hook failed before one was made (today the lab finds the proxy's port).
  assert.deepEqual(gets, []);
  const hookDone = events.find((e) => e.type === 'preStopDone' && e.container === 'app');
  assert.ok(hookDone?.detail?.startsWith(`${FAILED_HOOK}: `), JSON.stringify(hookDone));
  // The stop signal follows at once, not after the /wait-quiet wait.
  assert.equal(events.find((e) => e.type === 'TERM' && e.container === 'app')?.at, 0);
});

test('a preStop whose port names its own container\'s port reaches the driver with the number', async () => {
  const clock = new FakeClock();
  const gets: Array<number | string> = [];
  const own = { containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }], lifecycle: { preStop: { httpGet: { path: '/drain', port: 'http' } } } }] };
  let exit!: () => void;
  const exited = new Promise<void>((r) => { exit = r; });
  const done = deletePod(podModelFromSpec(own), {
    signal: () => exit(), exited: () => exited,
    httpGet: (_c, action) => { gets.push(action.port); return Promise.resolve({ ok: true, detail: '200 ok' }); },
  }, { clock });
  await clock.advance(100);
  await done;
  assert.deepEqual(gets, [8080]);
});

test('ebb check calls a hook or probe port name that its own container lacks an error, naming the container that has it', () => {
  const manifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {
    ...spec,
    containers: [spec.containers[0], { ...spec.containers[1], readinessProbe: { httpGet: { path: '/ready', port: 'ebb-admin' } }, livenessProbe: { tcpSocket: { port: 'http' } } }],
  } };
  const r = check(manifest, resolveInjectConfig({}).config);
  const found = r.findings.filter((f) => f.code === 'named_port_not_in_container');
  assert.deepEqual(found.map((f) => [f.container, f.severity, f.params.field]), [
    ['app', 'error', 'lifecycle.preStop.httpGet'],
    ['app', 'error', 'readinessProbe.httpGet'],
  ]);
  assert.match(findingSentence(found[0]!), /container "app": lifecycle\.preStop\.httpGet\.port "ebb-admin" names no port of this container \(it is container "ebb-proxy"'s\).*FailedPreStopHook/);
});
