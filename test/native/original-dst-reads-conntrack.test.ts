import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { ADDON_PATH, loadOriginalDst } from '../../src/native/original-dst.js';

// The addon is built by `npm ci`; on a machine without a compiler this test says so instead of failing.
const skip = process.platform !== 'linux' ? 'SO_ORIGINAL_DST is Linux-only'
  : existsSync(ADDON_PATH) ? false : `the native addon was not built (${ADDON_PATH}); see the npm ci output`;

test('originalDst on a connection that was not redirected fails with an errno code, not a crash', { skip }, async () => {
  const originalDst = loadOriginalDst();
  const server = createServer().listen(0, '127.0.0.1');
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise((r) => server.once('listening', r));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  client.on('error', () => {});
  const sock = await accepted;
  try {
    // Without a nat entry there is no original destination: ENOENT (conntrack has no NAT for it),
    // or ENOPROTOOPT/… when the kernel lacks conntrack. Either way a typed error.
    assert.throws(() => originalDst(sock), (err: NodeJS.ErrnoException) => typeof err.code === 'string' && /SO_ORIGINAL_DST/.test(err.message));
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
