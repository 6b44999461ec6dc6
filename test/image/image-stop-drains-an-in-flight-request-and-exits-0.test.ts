import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, Session, appArgs, get, logged, logsOf, must, podmanUnusable, until } from './podman.js';

const skip = podmanUnusable();
const s = new Session();
after(() => s.remove());

test('podman stop -t G: TERM, the in-flight request completes, the proxy exits 0 before G (not KILLed)', { skip }, async () => {
  const pod = await s.pod('net');
  const app = await s.run('app', ['--pod', pod.name, ...appArgs()]);
  const proxy = await s.run('proxy', ['--pod', pod.name, '--read-only', '--cap-drop', 'ALL', '-e', 'EBB_APP_PORT=8080', EBB_IMAGE, 'proxy']);
  await until('the proxy\'s /live', async () => (await get(`http://${pod.ip}:4191/live`)).status === 200);

  const inFlight = get(`http://${pod.ip}:4143/slow?ms=3000`, 30_000);
  await logged(app, 'got /slow?ms=3000');
  // G = 20 s: a KILL at the deadline would show as exit 137.
  await must(['stop', '-t', '20', proxy], 60_000);
  const r = await inFlight;
  assert.equal(r.status, 200);
  assert.equal(r.body, 'app /slow?ms=3000');
  const state = await must(['inspect', proxy, '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}']);
  assert.equal(state, '0 false');
  const logs = await logsOf(proxy);
  assert.match(logs, /"signal":"SIGTERM"|SIGTERM/);
});
