import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Namespaces, netnsUnavailableReason } from './netns.js';
import { ADDON_PATH } from '../../src/native/original-dst.js';

const skip = netnsUnavailableReason() ?? (existsSync(ADDON_PATH) ? undefined : `the native addon was not built (${ADDON_PATH})`);
const ns = new Namespaces();
after(() => ns.cleanup());

const WRAPPER = fileURLToPath(new URL('../../src/native/original-dst.js', import.meta.url));

// Inside the namespace: listen on [::]:7000 (dual-stack), connect to each target (redirected there by
// iptables), print what originalDst says for every accepted socket.
const SCRIPT = `
import { createServer, connect } from 'node:net';
import { loadOriginalDst } from ${JSON.stringify(WRAPPER)};
const originalDst = loadOriginalDst();
const targets = JSON.parse(process.argv[1]);
const seen = [];
const server = createServer((sock) => {
  seen.push(originalDst(sock));
  sock.end();
  if (seen.length === targets.length) { console.log(JSON.stringify(seen)); server.close(); }
}).listen(7000, '::', async () => {
  for (const [host, port] of targets) {
    await new Promise((resolve, reject) => connect(port, host).on('connect', resolve).on('error', reject).on('end', () => {}).resume());
  }
});
`;

test('the addon returns the original IPv4 and IPv6 destination of a REDIRECTed connection', { skip }, async () => {
  // The targets need a route, so the pod gets a link to a peer namespace that never sees a packet.
  const pod = ns.create('origdst');
  const peer = ns.create('origpeer');
  ns.link(pod, '198.18.1.1', peer, '198.18.1.2');
  assert.equal((await ns.run(pod, 'ip', ['addr', 'add', 'fd00:ebb::1/64', 'dev', 'eth0', 'nodad'])).code, 0);
  assert.equal((await ns.run(pod, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', '198.18.1.2', '-j', 'REDIRECT', '--to-ports', '7000'])).code, 0);
  assert.equal((await ns.run(pod, 'ip6tables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', 'fd00:ebb::2', '-j', 'REDIRECT', '--to-ports', '7000'])).code, 0);

  const r = await ns.run(pod, process.execPath, ['--input-type=module', '-e', SCRIPT, JSON.stringify([['198.18.1.2', 8080], ['fd00:ebb::2', 9090]])]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [
    { address: '198.18.1.2', port: 8080, family: 'IPv4' },
    { address: 'fd00:ebb::2', port: 9090, family: 'IPv6' },
  ]);
});
