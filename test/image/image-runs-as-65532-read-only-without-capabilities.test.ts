import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, Session, appArgs, get, must, podman, podmanUnusable, until } from './podman.js';
import { VERSION } from '../../src/version.js';

const skip = podmanUnusable();
const s = new Session();
after(() => s.remove());

test('ebb:<version> runs as 65532 with --read-only and --cap-drop ALL, and the proxy serves there', { skip }, async () => {
  const locked = ['--read-only', '--cap-drop', 'ALL'];
  assert.equal(await must(['run', '--rm', '--network', 'none', ...locked, EBB_IMAGE, '--version']), VERSION);

  // Who it runs as, and that the root filesystem cannot be written (the image's own node).
  const probe = "const fs=require('fs');let w;try{fs.writeFileSync('/usr/local/lib/ebb/x','');w='written'}catch(e){w=e.code}" +
    ';console.log(JSON.stringify({uid:process.getuid(),gid:process.getgid(),write:w}))';
  const who = JSON.parse(await must(['run', '--rm', '--network', 'none', ...locked, '--entrypoint', '/nodejs/bin/node', EBB_IMAGE, '-e', probe])) as Record<string, unknown>;
  assert.deepEqual(who, { uid: 65532, gid: 65532, write: 'EROFS' });

  // The proxy itself, locked down the same way, in a pod with an app: requests pass, /live answers.
  const pod = await s.pod('net');
  await s.run('app', ['--pod', pod.name, ...appArgs()]);
  const proxy = await s.run('proxy', ['--pod', pod.name, ...locked, '-e', 'EBB_APP_PORT=8080', EBB_IMAGE, 'proxy']);
  await until('the proxy\'s /live', async () => (await get(`http://${pod.ip}:4191/live`)).status === 200);
  const r = await get(`http://${pod.ip}:4143/hello`);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'app /hello');
  const user = await must(['inspect', proxy, '--format', '{{.Config.User}}']);
  assert.equal(user, '65532:65532');
  // podman top names the user from the image's /etc/passwd: nonroot is 65532 there.
  const top = await podman(['top', proxy, 'user', 'args']);
  assert.match(top.stdout, /nonroot\s+\/nodejs\/bin\/node \/usr\/local\/bin\/ebb proxy/);
});
