import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy } from './harness.js';

// Connection: close is hop-by-hop: an app that says it (its own drain) must make the proxy close
// that client connection after the response, or the client keeps reusing a connection to an app
// that is leaving (istio#57357).
test('an app response with Connection: close: the proxy answers, then closes that client connection', async () => {
  const app = await startApp((req, res) => {
    if (req.url === '/leaving') res.setHeader('connection', 'close');
    res.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const exchange = (path: string): Promise<{ head: string; closed: boolean }> => new Promise((resolve, reject) => {
    const s = net.connect(p.port, '127.0.0.1');
    let data = '';
    let timer: NodeJS.Timeout | undefined;
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      data += d;
      // A kept-alive connection stays open: once the whole answer is in, give it a moment to close, then look.
      if (data.includes('\r\n\r\nok') && !timer) timer = setTimeout(() => { s.destroy(); resolve({ head: data, closed: false }); }, 1000);
    });
    s.on('end', () => { clearTimeout(timer); resolve({ head: data, closed: true }); });
    s.on('error', reject);
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
  const plain = await exchange('/');
  assert.equal(plain.closed, false, 'an ordinary response keeps the connection');
  const leaving = await exchange('/leaving');
  assert.match(leaving.head, /^HTTP\/1\.1 200/);
  assert.match(leaving.head, /\r\nconnection: close\r\n/i);
  assert.equal(leaving.closed, true, 'the proxy closed the client connection after the app\'s Connection: close');
});
