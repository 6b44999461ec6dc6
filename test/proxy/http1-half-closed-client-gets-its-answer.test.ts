import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, rawConnect, parseResponses, request } from './harness.js';

// A client that sends its request and then shuts down its sending side (shutdown(SHUT_WR), as
// `nc -N` or a one-shot script does) still gets the answer, as straight from the app, and the
// request is counted as the 200 it was.
test('a request followed by a half-close gets its answer, then the connection closes', async () => {
  const app = await startApp((req, res) => { setTimeout(() => res.end(`answer to ${req.url}`), 200); });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.end('GET /one HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n\r\n');
  const got = parseResponses(await c.closed);
  assert.deepEqual(got.map((r) => [r.status, r.body]), [[200, 'answer to /one'], [200, 'answer to /two']]);
  const metrics = (await request(p.admin, { path: '/metrics' })).body.toString();
  assert.match(metrics, /ebb_requests_total\{direction="inbound",protocol="http1",status_class="2xx"\} 2/);
  assert.doesNotMatch(metrics, /ebb_requests_total\{[^}]*status_class="(5xx|error)"\}/);
});
