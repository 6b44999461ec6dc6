import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, Session, appArgs, get, podman, podmanUnusable, until } from './podman.js';

const skip = podmanUnusable();
const s = new Session();
after(() => s.remove());

test('`ebb sleep N` runs as a preStop exec hook in the proxy container (no shell, read-only, no capabilities)', { skip }, async () => {
  const pod = await s.pod('net');
  await s.run('app', ['--pod', pod.name, ...appArgs()]);
  const proxy = await s.run('proxy', ['--pod', pod.name, '--read-only', '--cap-drop', 'ALL', '-e', 'EBB_APP_PORT=8080', EBB_IMAGE, 'proxy']);
  await until('the proxy\'s /live', async () => (await get(`http://${pod.ip}:4191/live`)).status === 200);
  // What the kubelet runs for lifecycle.preStop.exec.command: ["ebb", "sleep", "1"].
  const hook = await podman(['exec', proxy, 'ebb', 'sleep', '1']);
  assert.equal(hook.code, 0, hook.stderr);
  const bad = await podman(['exec', proxy, 'ebb', 'sleep', 'soon']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /not a number of seconds/);
  // The proxy carries on serving: the hook only waited.
  assert.equal((await get(`http://${pod.ip}:4143/after-hook`)).body, 'app /after-hook');
});
