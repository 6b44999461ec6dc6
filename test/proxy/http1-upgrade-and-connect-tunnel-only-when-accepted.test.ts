import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startApp, startProxy, rawConnect, parseResponses, eventually } from './harness.js';

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

// The connection becomes a tunnel only once the app agrees (101 to an upgrade, 2xx to CONNECT).
// Any other answer is an ordinary response, and what the client pipelined behind it is parsed
// and forwarded as HTTP, in order. Before, the proxy spliced at once: a pipelined request behind
// a refused upgrade reached the app as raw bytes, outside parsing, metrics and drain.
test('a refused upgrade or CONNECT is an ordinary response; the connection stays HTTP', async () => {
  const requests: string[] = [];
  const tunnels: Socket[] = []; // node's server.close() does not wait for, nor close, handed-over sockets
  const app = await startApp((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url === '/slow') { setTimeout(() => res.end('slow'), 100); return; }
    res.end(`plain ${req.url}`);
  }, (server) => {
    server.on('upgrade', (req, socket: Socket) => {
      tunnels.push(socket);
      requests.push(`upgrade ${req.url}`);
      if (req.url === '/ws-refused') { socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\n\r\nrefused'); return; }
      // Answered like any request, its body chunked.
      if (req.url === '/plain-upgrade') { socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nplain \r\ne\r\n/plain-upgrade\r\n0\r\n\r\n'); return; }
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`));
    });
    server.on('connect', (req, socket: Socket) => {
      tunnels.push(socket);
      requests.push(`CONNECT ${req.url}`);
      if (req.url === 'refused:443') { socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden'); return; }
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(`tunnel:${d.toString()}`));
    });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); for (const t of tunnels) t.destroy(); await app.close(); });

  // Refused upgrade, behind a slow response and ahead of a plain request.
  const c = await rawConnect(p.port);
  c.socket.write(GET('/slow') + GET('/ws-refused', UPGRADE) + GET('/next'));
  await eventually(() => c.received().includes('plain /next'), 'the request behind the refused upgrade answered');
  assert.deepEqual(parseResponses(c.received()).map((r) => [r.status, r.body]), [[200, 'slow'], [400, 'refused'], [200, 'plain /next']]);

  // An app that answers an upgrade like any request (200, chunked): still HTTP after it.
  c.socket.write(GET('/plain-upgrade', 'Connection: Upgrade\r\nUpgrade: h2c\r\n') + GET('/after'));
  await eventually(() => c.received().includes('plain /after'), 'the request behind it answered');
  const rest = c.received().slice(c.received().indexOf('plain /next') + 'plain /next'.length);
  assert.match(rest, /^HTTP\/1\.1 200 OK\r\n[^]*Transfer-Encoding: chunked\r\n[^]*\r\n\r\n6\r\nplain \r\ne\r\n\/plain-upgrade\r\n0\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*plain \/after$/);
  c.socket.destroy();

  // A refused CONNECT, then a plain request on the same connection.
  const k = await rawConnect(p.port);
  k.socket.write('CONNECT refused:443 HTTP/1.1\r\nHost: refused:443\r\n\r\n' + GET('/after-connect'));
  await eventually(() => k.received().includes('plain /after-connect'), 'the request behind the refused CONNECT answered');
  assert.deepEqual(parseResponses(k.received()).map((r) => [r.status, r.body]), [[403, 'forbidden'], [200, 'plain /after-connect']]);
  k.socket.destroy();

  assert.deepEqual(requests.filter((r) => !r.startsWith('upgrade') && !r.startsWith('CONNECT')),
    ['GET /slow', 'GET /next', 'GET /after', 'GET /after-connect'], 'the pipelined requests reached the app as HTTP requests');

  // Accepted: 101 and 2xx become tunnels.
  const w = await rawConnect(p.port);
  w.socket.write(GET('/ws', UPGRADE));
  await eventually(() => w.received().includes('\r\n\r\n'), 'the 101');
  w.socket.write('ping');
  await eventually(() => w.received().includes('echo:ping'), 'bytes through the tunnel');
  assert.match(w.received(), /^HTTP\/1\.1 101 /);
  w.socket.destroy();
  const t = await rawConnect(p.port);
  t.socket.write('CONNECT ok:443 HTTP/1.1\r\nHost: ok:443\r\n\r\n');
  await eventually(() => t.received().includes('\r\n\r\n'), 'the 200');
  t.socket.write('hello');
  await eventually(() => t.received().includes('tunnel:hello'), 'bytes through the CONNECT tunnel');
  t.socket.destroy();
});
