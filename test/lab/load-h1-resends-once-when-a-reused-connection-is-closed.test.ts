import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LoadGenerator } from '../../src/lab/load.js';

// The keep-alive race: a server closes an idle keep-alive connection (a terminating proxy does, to
// make clients reconnect) just as the client sends its next request on it. Real clients (Go's
// net/http, browsers; Node's docs show the same for `req.reusedSocket`) send such an idempotent
// request again on a new connection; the lab's HTTP/1 client does too, once, so the lab counts what
// a client would really lose. A failure on a fresh connection is never resent.
test('the lab\'s keep-alive client resends once a request whose reused connection closed before any answer', async () => {
  let conns = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const n = ++conns;
    let requests = 0;
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        requests++;
        // The first connection: its second request crosses the server's close.
        if (n === 1 && requests === 2) { s.destroy(); return; }
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok');
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => { for (const s of sockets) s.destroy(); server.close(); });
  const port = (server.address() as AddressInfo).port;

  const load = new LoadGenerator({
    clients: [{ id: 0, kind: 'h1-keepalive', delayMs: 0, rps: 10 }], ports: { old: port, new: port },
    timeoutMs: 2000, maxRequests: 2, model: 'mesh',
  });
  load.start();
  for (let i = 0; i < 200 && load.records.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  await load.stop();
  assert.deepEqual(load.records.map((r) => r.outcome), ['ok', 'ok'], JSON.stringify(load.records));
  assert.equal(conns, 2, 'the second request went again, on a new connection');
});
