import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy } from './harness.js';

test('hop-by-hop headers (RFC 9110 7.6.1) are not forwarded either way; end-to-end ones are', async () => {
  let seen: Record<string, string | string[] | undefined> = {};
  const app = await startApp((req, res) => {
    seen = req.headers;
    res.setHeader('connection', 'x-secret-hop');
    res.setHeader('x-secret-hop', 'app-side');
    res.setHeader('keep-alive', 'timeout=1');
    res.setHeader('x-end-to-end', 'kept');
    res.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  // A raw request so the client side sends exactly these headers.
  const raw = await new Promise<string>((resolve, reject) => {
    const s = net.connect(p.port, '127.0.0.1', () => {
      s.write('GET /h HTTP/1.1\r\nHost: example\r\nConnection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\n' +
        'Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nX-Kept: yes\r\n\r\n');
    });
    let data = '';
    s.setEncoding('utf8').on('data', (d: string) => { data += d; if (data.includes('\r\n\r\nok')) { s.destroy(); resolve(data); } });
    s.on('error', reject);
  });
  assert.equal(seen['x-kept'], 'yes');
  assert.equal(seen['host'], 'example');
  for (const h of ['x-client-hop', 'keep-alive', 'proxy-connection', 'te']) assert.equal(seen[h], undefined, `${h} reached the app`);
  const head = raw.split('\r\n\r\n')[0]!.toLowerCase();
  assert.match(head, /x-end-to-end: kept/);
  assert.doesNotMatch(head, /x-secret-hop/);
  assert.doesNotMatch(head, /keep-alive: timeout=1(\r|$)/); // the app's; the proxy sends its own
});
