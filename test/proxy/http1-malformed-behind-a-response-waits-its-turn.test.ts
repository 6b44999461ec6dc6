import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, rawConnect, parseResponses } from './harness.js';

// A malformed request pipelined behind a good one: the good response goes out whole, then the
// 400, then the connection closes (HAProxy and nginx: 200 then 400). The proxy used to write the
// 400 at once, into the middle of the good response's body.
test('a malformed request pipelined behind a large response gets its 400 after that response', async () => {
  const size = 8 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const app = await startApp((req, res) => {
    res.writeHead(200, { 'content-length': size });
    let left = size;
    const write = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!res.write(chunk)) { res.once('drain', write); return; }
      }
      res.end();
    };
    write();
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  for (const bad of ['GET /x HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n', 'POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']) {
    const c = await rawConnect(p.port);
    c.socket.write(`GET /big HTTP/1.1\r\nHost: t\r\n\r\n${bad}`);
    const got = parseResponses(await c.closed);
    assert.deepEqual(got.map((r) => r.status), [200, 400], JSON.stringify(bad));
    assert.equal(got[0]!.body.length, size, 'the whole body, uncut');
  }
});
