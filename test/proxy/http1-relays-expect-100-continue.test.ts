import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, startProxy } from './harness.js';

/** Sends a request with Expect: 100-continue and writes the body only once told to continue. */
function expectContinue(port: number, path: string): Promise<{ status: number; body: string; sawContinue: boolean }> {
  return new Promise((resolve, reject) => {
    let sawContinue = false;
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path, agent: false,
      headers: { expect: '100-continue', 'content-length': '5' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode!, body, sawContinue }));
    });
    req.on('continue', () => { sawContinue = true; req.end('hello'); });
    req.on('error', reject);
    req.flushHeaders();
  });
}

test('Expect: 100-continue is decided by the app: its 100 is relayed, and its early 417 too', async () => {
  const app = await startApp(() => {}, (s) => {
    s.on('checkContinue', (req, res) => {
      if (req.url === '/reject') { res.writeHead(417); res.end('no thanks'); return; }
      res.writeContinue();
      let got = '';
      req.setEncoding('utf8').on('data', (d: string) => { got += d; }).on('end', () => res.end(`got ${got}`));
    });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const ok = await expectContinue(p.port, '/accept');
  assert.equal(ok.sawContinue, true);
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'got hello');

  const no = await expectContinue(p.port, '/reject');
  assert.equal(no.sawContinue, false);
  assert.equal(no.status, 417);
  assert.equal(no.body, 'no thanks');
});
