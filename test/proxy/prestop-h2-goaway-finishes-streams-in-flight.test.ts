import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import { startH2App, startProxy, request, deferred, eventually } from './harness.js';
import { ERROR, H2Conn, headers, requestFields } from './h2-frames.js';

// At /prestop every HTTP/2 client session that has had a stream gets GOAWAY NO_ERROR with the
// last stream id processed: the stream in flight finishes in full, a stream sent after it is not
// processed (the app never sees it; its id above the GOAWAY's tells the client it may retry it),
// and the connection closes after the stream in flight.
test('GET /prestop: GOAWAY NO_ERROR with the last stream id, the stream in flight finishes, a later one never reaches the app', async () => {
  const release = deferred();
  const paths: string[] = [];
  const app = await startH2App((stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders) => {
    stream.on('error', () => {});
    paths.push(String(h[':path']));
    const answer = (): void => { if (!stream.destroyed) { stream.respond({ ':status': 200 }); stream.end(String(h[':path'])); } };
    if (h[':path'] === '/hold') void release.promise.then(answer);
    else answer();
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const c = await H2Conn.connect(p.port);
  after(async () => { c.destroy(); await p.stop(); await app.close(); });

  c.send(headers(1, requestFields({ path: '/first' }), { endStream: true }));
  assert.equal((await c.headersOf(1))[':status'], '200');
  c.send(headers(3, requestFields({ path: '/hold' }), { endStream: true }));
  await eventually(() => paths.includes('/hold'), 'the app has stream 3');

  assert.equal((await request(p.admin, { path: '/prestop?seconds=0' })).status, 200);
  const g = await c.goaway();
  assert.deepEqual([g.code, g.lastStreamId], [ERROR.NO_ERROR, 3], 'GOAWAY names the last stream processed');
  assert.equal(c.isClosed, false, 'the connection stays open while stream 3 is in flight');

  c.send(headers(5, requestFields({ path: '/late' }), { endStream: true }));
  release.resolve();
  assert.equal((await c.headersOf(3))[':status'], '200');
  await c.until(() => (c.streamDone(3) ? true : undefined), 'stream 3 ended');
  assert.equal(c.body(3).toString(), '/hold', 'the stream in flight finished in full');
  await c.closed;
  assert.deepEqual(paths, ['/first', '/hold'], 'the stream sent after the GOAWAY was not processed');
  assert.equal(p.child.exitCode, null, 'the proxy still runs: its TERM comes later');
});
