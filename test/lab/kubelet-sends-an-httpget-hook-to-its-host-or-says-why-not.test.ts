import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lab/clock.js';
import { deletePod, podModelFromSpec, FAILED_HOOK, HOOK_NOT_SENT, type ContainerDriver, type KubeletEvent } from '../../src/lab/kubelet.js';

// The kubelet sends an httpGet hook from the node to its `host` (the pod's IP when unset). The lab
// sends it to the pod only when that is where it goes; otherwise it says what would happen.
async function preStopWithHost(host: string | undefined): Promise<{ sent: number; done: KubeletEvent; term: KubeletEvent }> {
  const clock = new FakeClock();
  const events: KubeletEvent[] = [];
  let sent = 0;
  let exit!: () => void;
  const exited = new Promise<void>((r) => { exit = r; });
  const driver: ContainerDriver = {
    host: '198.19.0.2',
    signal: () => exit(), exited: () => exited,
    httpGet: () => { sent++; return Promise.resolve({ ok: true, detail: '200 drained' }); },
  };
  const spec = { containers: [{ name: 'app', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { httpGet: { path: '/drain', port: 8080, ...(host === undefined ? {} : { host }) } } } }] };
  const done = deletePod(podModelFromSpec(spec), driver, { clock, onEvent: (e) => events.push(e) });
  await clock.advance(100);
  await done;
  return { sent, done: events.find((e) => e.type === 'preStopDone')!, term: events.find((e) => e.type === 'TERM')! };
}

test('no host: the request goes to the pod\'s IP', async () => {
  const r = await preStopWithHost(undefined);
  assert.equal(r.sent, 1);
  assert.equal(r.done.detail, '200 drained');
});

test('the pod\'s own address as host: the request goes to the pod', async () => {
  assert.equal((await preStopWithHost('198.19.0.2')).sent, 1);
});

for (const host of ['localhost', '127.0.0.1', '::1']) {
  test(`host ${host} is the node's loopback, not the pod: the hook fails at once and is not sent to the pod`, async () => {
    const r = await preStopWithHost(host);
    assert.equal(r.sent, 0);
    assert.ok(r.done.detail!.startsWith(`${FAILED_HOOK}: host ${host} is the node's own loopback`), r.done.detail);
    assert.equal(r.term.at, 0);
  });
}

test('another host: the lab does not send it anywhere and says so, instead of sending it to the pod', async () => {
  const r = await preStopWithHost('registry.internal.example');
  assert.equal(r.sent, 0);
  assert.ok(r.done.detail!.startsWith(`${HOOK_NOT_SENT}: host registry.internal.example is not this pod's address (198.19.0.2)`), r.done.detail);
});

test('ebb check calls a loopback host on a hook or probe an error (it is the node\'s loopback), but not in a hostNetwork pod', async () => {
  const { check, resolveInjectConfig } = await import('../../src/inject/index.js');
  const pod = (hostNetwork: boolean): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {
    ...(hostNetwork ? { hostNetwork } : {}),
    containers: [
      { name: 'ebb-proxy', image: 'ebb:1', args: ['proxy'] },
      { name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }], lifecycle: { preStop: { httpGet: { host: 'localhost', path: '/drain', port: 8080 } } },
        readinessProbe: { httpGet: { host: '127.0.0.1', path: '/ready', port: 8080 } }, livenessProbe: { httpGet: { host: '10.0.0.1', path: '/live', port: 8080 } } },
    ],
  } });
  const codes = (hostNetwork: boolean): string[] => check(pod(hostNetwork), resolveInjectConfig({}).config).findings
    .filter((f) => f.code === 'hook_host_is_node_loopback').map((f) => `${f.severity} ${String(f.params.field)} ${String(f.params.host)}`);
  assert.deepEqual(codes(false), ['error lifecycle.preStop.httpGet localhost', 'error readinessProbe.httpGet 127.0.0.1']);
  assert.deepEqual(codes(true), []);
});
