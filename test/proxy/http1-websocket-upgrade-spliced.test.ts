import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy } from './harness.js';

test('an HTTP/1 upgrade (WebSocket handshake) is passed to the app and the bytes spliced both ways', async () => {
  const app = await startApp((_req, res) => res.end('plain'), (server) => {
    server.on('upgrade', (req, socket: net.Socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Key: ${req.headers['sec-websocket-key']}\r\n\r\n`);
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
      socket.on('end', () => socket.end());
    });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const sock = net.connect(p.port, '127.0.0.1');
  let data = '';
  sock.setEncoding('utf8').on('data', (d: string) => {
    data += d;
    if (data.includes('\r\n\r\n') && !data.includes('echo:')) sock.write('ping');
  });
  sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc123\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => { if (data.includes('echo:ping')) { clearInterval(t); resolve(); } }, 20);
    sock.on('error', (e) => { clearInterval(t); reject(e); });
  });
  assert.match(data, /^HTTP\/1.1 101 Switching Protocols/);
  assert.match(data, /X-Key: abc123/);
  sock.destroy();
});
