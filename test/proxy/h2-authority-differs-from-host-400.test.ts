import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startH2App, startProxy } from './harness.js';
import { H2Conn, headers, requestFields } from './h2-frames.js';

// RFC 9113 §8.3.1: an HTTP/2 request whose Host names another authority than :authority is
// malformed. Forwarded, the app would see both and could route by either.
test('h2 :authority and host that differ: 400 from the proxy, the app never sees it; equal ones pass', async () => {
  const seen: string[] = [];
  const app = await startH2App((stream, h) => {
    seen.push(`${h[':authority']} ${h.host}`);
    stream.respond({ ':status': 200 });
    stream.end('app');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const c = await H2Conn.connect(p.port);
  after(async () => { c.destroy(); await p.stop(); await app.close(); });

  c.send(headers(1, requestFields({ authority: 'a.example', extra: [['host', 'b.example']] }), { endStream: true }));
  const bad = await c.headersOf(1);
  assert.equal(bad[':status'], '400');
  assert.equal(bad['ebb-proxy-error'], 'bad_request');

  c.send(headers(3, requestFields({ authority: 'a.example', extra: [['host', 'A.Example']] }), { endStream: true }));
  assert.equal((await c.headersOf(3))[':status'], '200', 'host names are compared without case');
  c.send(headers(5, requestFields({ authority: null, extra: [['host', 'b.example']] }), { endStream: true }));
  assert.equal((await c.headersOf(5))[':status'], '200', 'Host alone is fine');
  assert.deepEqual(seen, ['a.example A.Example', 'undefined b.example']);
});
