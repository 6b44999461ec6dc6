import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletePod, type KubeletEvent } from '../../src/lab/kubelet.js';

test('the kubelet runs an exec preStop for real when the driver can exec (the podman runtime)', async () => {
  const events: KubeletEvent[] = [];
  let execd: string[] | undefined;
  let exited!: () => void;
  const exit = new Promise<void>((r) => { exited = r; });
  await deletePod({ graceSeconds: 5, containers: [{ name: 'app', sidecar: false, spec: {}, preStop: { kind: 'sleep', seconds: 1, via: 'exec', text: 'exec', command: ['/bin/sh', '-c', 'sleep 1'] } }] }, {
    signal: () => exited(), exited: () => exit,
    httpGet: () => Promise.resolve({ ok: true, detail: '' }),
    exec: (_c, command) => { execd = command; return Promise.resolve({ ok: true, detail: 'exited 0' }); },
  }, { onEvent: (e) => events.push(e) });
  assert.deepEqual(execd, ['/bin/sh', '-c', 'sleep 1']);
  assert.equal(events.find((e) => e.type === 'preStopDone')?.detail, 'exited 0');
});
