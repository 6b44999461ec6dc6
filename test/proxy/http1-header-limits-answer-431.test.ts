import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from './harness.js';
import { startRecordingApp, sendRaw } from './h1-raw.js';

const fields = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');

// Past the header limits a request gets 431 and never reaches the app. Before, node dropped the
// fields past about the 1000th from what was forwarded while still framing the body by them, so a
// Content-Length among them left the app with an empty body.
test('too many header fields, a too long line or head: 431, nothing forwarded', async () => {
  const app = await startRecordingApp();
  const p = await startProxy(['--app-port', String(app.port)]);
  const small = await startProxy(['--app-port', String(app.port), '--max-header-count', '5'], { EBB_MAX_HEADER_LINE_BYTES: '100' });
  after(async () => { await p.stop(); await small.stop(); await app.close(); });
  const status = async (port: number, bytes: string): Promise<string> => {
    const c = await sendRaw(port, bytes, (r) => r.includes('\r\n\r\n'));
    c.socket.destroy();
    return c.received().slice(0, 12);
  };

  assert.equal(await status(p.port, `GET /ok HTTP/1.1\r\nHost: t\r\n${fields(99)}\r\n`), 'HTTP/1.1 200');
  assert.equal(app.requests().length, 1);
  assert.equal(await status(p.port, `GET /a HTTP/1.1\r\nHost: t\r\n${fields(100)}\r\n`), 'HTTP/1.1 431', '101 fields (HAProxy: 400)');
  assert.equal(await status(p.port, `POST /a HTTP/1.1\r\nHost: t\r\n${fields(1100)}Content-Length: 4\r\n\r\nbody`), 'HTTP/1.1 431');
  assert.equal(await status(p.port, `GET /a HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`), 'HTTP/1.1 431', 'one 9 KB line (nginx: 400)');
  assert.equal(await status(p.port, `GET /a HTTP/1.1\r\nHost: t\r\n${[1, 2, 3].map((i) => `X-B${i}: ${'a'.repeat(6000)}\r\n`).join('')}\r\n`), 'HTTP/1.1 431', '18 KB of head (HAProxy: 400)');
  assert.equal(await status(p.port, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: t\r\n\r\n`), 'HTTP/1.1 414');
  assert.equal(app.requests().length, 1, 'none of them reached the app');

  // Configurable by flag and by env.
  assert.equal(await status(small.port, `GET /a HTTP/1.1\r\nHost: t\r\n${fields(4)}\r\n`), 'HTTP/1.1 200');
  assert.equal(await status(small.port, `GET /a HTTP/1.1\r\nHost: t\r\n${fields(5)}\r\n`), 'HTTP/1.1 431');
  assert.equal(await status(small.port, `GET /a HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(100)}\r\n\r\n`), 'HTTP/1.1 431');
});
