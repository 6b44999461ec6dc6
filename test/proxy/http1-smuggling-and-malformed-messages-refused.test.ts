import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startTcpApp } from './harness.js';
import { startRecordingApp, sendRaw } from './h1-raw.js';

// What was already right and must stay so: every request framing the proxy and the app could
// read differently is answered 400 by the proxy and never forwarded; a response the proxy cannot
// frame safely is a 502 (stricter than HAProxy and nginx, which pass some of these on).
test('CL/TE smuggling variants, obs-fold, NUL and bare CR in requests: 400, nothing forwarded', async () => {
  const app = await startRecordingApp();
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  const H = 'POST /a HTTP/1.1\r\nHost: t\r\n';
  const cases = [
    `${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    `${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n`,
    `${H}Content-Length: 4\r\nContent-Length: 5\r\n\r\nbody`,
    `${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    `${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    `${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    `${H}Content-Length: +4\r\n\r\nbody`,
    `GET /a HTTP/1.1\r\nHost: t\r\nX-Fold: a\r\n b\r\n\r\n`,
    `GET /a HTTP/1.1\r\nHost: t\r\nX-Nul: a\0b\r\n\r\n`,
    `GET /a HTTP/1.1\r\nHost: t\r\nX-Cr: a\rb\r\n\r\n`,
    `GET /a HTTP/1.1\r\nHost: t\r\nBad Header: v\r\n\r\n`,
    `GET /a HTTP/1.1\r\n\r\n`,
  ];
  for (const bytes of cases) {
    const c = await sendRaw(p.port, bytes, (r) => r.includes('\r\n\r\n'));
    c.socket.destroy();
    assert.match(c.received(), /^HTTP\/1\.1 400 /, JSON.stringify(bytes));
  }
  assert.deepEqual(app.requests(), [], 'none of them reached the app');
});

test('an app response with conflicting framing is a 502', async () => {
  const answers = [
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok',
  ];
  let n = 0;
  const app = await startTcpApp((s) => s.once('data', () => s.end(answers[n++ % answers.length])));
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  for (let i = 0; i < answers.length; i++) {
    const c = await sendRaw(p.port, 'GET /a HTTP/1.1\r\nHost: t\r\n\r\n', (r) => r.includes('\r\n\r\n'));
    c.socket.destroy();
    assert.match(c.received(), /^HTTP\/1\.1 502 /, JSON.stringify(answers[i]));
  }
});
