import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, Session, appArgs, get, logged, logsOf, must, podmanUnusable, until } from './podman.js';

const skip = podmanUnusable();
const s = new Session();
after(() => s.remove());

test('--exit-when-app-exits sees the app container exit across a pod\'s shared PID namespace (podman pod --share pid,net)', { skip }, async () => {
  const pod = await s.pod('pid,net');
  const app = await s.run('app', ['--pod', pod.name, ...appArgs()]);
  const proxy = await s.run('proxy', ['--pod', pod.name, '--read-only', '--cap-drop', 'ALL',
    '-e', 'EBB_APP_PORT=8080', '-e', 'EBB_EXIT_WHEN_APP_EXITS=true', '-e', 'EBB_APP_EXIT_SETTLE=1', EBB_IMAGE, 'proxy']);
  await until('the proxy\'s /live', async () => (await get(`http://${pod.ip}:4191/live`)).status === 200);
  await logged(proxy, '"msg":"app seen"');
  // The app's process is in another container; the pod's pause process (catatonit) is not the app.
  const seen = /\{[^\n]*"msg":"app seen"[^\n]*\}/.exec(await logsOf(proxy))![0];
  assert.match(seen, /"argv":\["\/nodejs\/bin\/node","-e"/);

  await must(['stop', '-t', '10', app]);
  // The proxy leaves on its own (reason app-exited) and exits 0.
  assert.equal(await must(['wait', proxy], 60_000), '0');
  assert.match(await logsOf(proxy), /app-exited/);
});
