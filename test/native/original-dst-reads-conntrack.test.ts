import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { ADDON_PATH, loadOriginalDst } from '../../src/native/original-dst.js';

// The addon is built by `npm ci`; on a machine without a compiler this test says so instead of failing.
const skip = process.platform !== 'linux' ? 'SO_ORIGINAL_DST is Linux-only'
  : existsSync(ADDON_PATH) ? false : `the native addon was not built (${ADDON_PATH}); see the npm ci output`;

test('originalDst on a connection that was not redirected: a typed error, or the address it was sent to', { skip }, async () => {
  const originalDst = loadOriginalDst();
  const server = createServer().listen(0, '127.0.0.1');
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  const sock = await accepted;
  try {
    // Without a NAT entry there is no rewritten destination. What the kernel answers depends on the
    // host: where conntrack does not track loopback, SO_ORIGINAL_DST fails (ENOENT, or ENOPROTOOPT
    // without conntrack); where it does, the tuple is un-NATed and the answer is the address the
    // client connected to. Both are true answers (the proxy handles both); a crash or any other
    // address is not.
    let dst;
    try {
      dst = originalDst(sock);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      assert.equal(typeof e.code, 'string', `untyped error: ${String(err)}`);
      assert.match(e.message, /SO_ORIGINAL_DST/);
      return;
    }
    assert.deepEqual(dst, { address: '127.0.0.1', port, family: 'IPv4' }, 'a non-redirected connection reports where it was sent');
  } finally {
    sock.destroy();
    client.destroy();
    server.close();
  }
});

test('originalDst on a closed socket reports EBADF', { skip }, () => {
  const originalDst = loadOriginalDst();
  const s = connect({ port: 1, host: '127.0.0.1' });
  s.on('error', () => {});
  s.destroy();
  assert.throws(() => originalDst(s), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
});
