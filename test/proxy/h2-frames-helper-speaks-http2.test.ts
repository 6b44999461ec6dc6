import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startH2App } from './harness.js';
import { H2Conn, FRAME, continuation, data, headerBlock, headers, requestFields, rstStream, windowUpdate } from './h2-frames.js';

// The raw frame helper (test/proxy/h2-frames.ts) against node's own HTTP/2 server: what it writes
// is valid HTTP/2, and what it reads (HPACK with Huffman strings and the dynamic table) decodes.
test('raw h2 frames: requests in HEADERS and CONTINUATION, bodies in DATA, responses decoded', async () => {
  const app = await startH2App((stream, h) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('end', () => {
      if (stream.destroyed) return; // stream 5 is reset, which ends it too
      stream.respond({ ':status': 201, 'content-type': 'text/plain; charset=utf-8', 'x-path': String(h[':path']), 'x-host': String(h[':authority']) });
      stream.end(`got ${Buffer.concat(chunks).toString()}`);
    });
  });
  const c = await H2Conn.connect(app.port);
  after(async () => { c.destroy(); await app.close(); });

  c.send(headers(1, requestFields({ method: 'POST', path: '/one', authority: 'example.test' })), data(1, 'hello', true));
  const block = headerBlock(requestFields({ path: '/two' }));
  c.send(headers(3, block.subarray(0, 5), { endStream: true, endHeaders: false }), continuation(3, block.subarray(5), true));
  c.send(headers(5, requestFields({ path: '/three' }), { endStream: false }), rstStream(5, 8), windowUpdate(0, 1000));

  const one = await c.headersOf(1);
  assert.deepEqual([one[':status'], one['content-type'], one['x-path'], one['x-host']], ['201', 'text/plain; charset=utf-8', '/one', 'example.test']);
  const two = await c.headersOf(3); // the second response reuses the dynamic table
  assert.deepEqual([two[':status'], two['content-type'], two['x-path']], ['201', 'text/plain; charset=utf-8', '/two']);
  await c.until(() => (c.streamDone(1) && c.streamDone(3)) || undefined, 'both responses ended');
  assert.equal(c.body(1).toString(), 'got hello');
  assert.equal(c.body(3).toString(), 'got ');
  assert.ok(c.frames.some((f) => f.type === FRAME.SETTINGS), 'the server sent SETTINGS');
});
