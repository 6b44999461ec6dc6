import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, INIT_IMAGE, Session, appArgs, get, podman, podmanUnusable, until } from './podman.js';

const skip = podmanUnusable();
const s = new Session();
after(() => s.remove());

test('ebb-init programs iptables in the pod\'s network namespace with only NET_ADMIN + NET_RAW; the proxy (uid 2102) then gets the redirected traffic', { skip }, async () => {
  const pod = await s.pod('net');
  // The init container as `ebb inject --transparent true` writes it: root, NET_ADMIN and NET_RAW only.
  const initName = s.name('init');
  const init = await podman(['run', '--name', initName, '--pod', pod.name, '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN,NET_RAW', INIT_IMAGE, 'init']);
  await podman(['rm', '-f', initName]);
  assert.equal(init.code, 0, `${init.stdout}${init.stderr}`);
  assert.match(init.stdout + init.stderr, /IPv4 nat rules applied \(inbound → 4143, outbound → 4140, proxy uid 2102 exempt/);

  await s.run('app', ['--pod', pod.name, ...appArgs()]);
  await s.run('proxy', ['--pod', pod.name, '--read-only', '--cap-drop', 'ALL', '--user', '2102:2102',
    '-e', 'EBB_TRANSPARENT=true', EBB_IMAGE, 'proxy']);
  await until('the proxy\'s /live', async () => (await get(`http://${pod.ip}:4191/live`)).status === 200);

  // A client calls the app's own port; the rules hand the connection to the proxy's inbound listener.
  const r = await get(`http://${pod.ip}:8080/through`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'app /through');
  const metrics = (await get(`http://${pod.ip}:4191/metrics`)).body;
  assert.match(metrics, /ebb_requests_total\{direction="inbound",protocol="http1",status_class="2xx"\} 1\b/);
  // Without the capabilities, ebb-init fails and says so.
  const bare = await podman(['run', '--rm', '--pod', pod.name, '--cap-drop', 'ALL', INIT_IMAGE, 'init']);
  assert.notEqual(bare.code, 0);
});
