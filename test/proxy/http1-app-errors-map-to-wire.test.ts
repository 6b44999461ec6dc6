import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, startProxy, request, freePort } from './harness.js';

test('app down: the client gets 502 with ebb-proxy-error: upstream_refused', async () => {
  const port = await freePort();
  const p = await startProxy(['--app-port', String(port)]);
  after(() => p.stop());
  const r = await request(p.port, { path: '/' });
  assert.equal(r.status, 502);
  assert.equal(r.headers['ebb-proxy-error'], 'upstream_refused');
});

test('app resets mid-response: the client sees an aborted response, not a hang or a clean end', async () => {
  const app = await startApp((_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' });
    res.write(Buffer.alloc(1000, 1), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  const outcome = await new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port: p.port, path: '/', agent: false }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.complete ? 'complete' : 'incomplete end'));
      res.on('aborted', () => resolve('aborted'));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
    }).on('error', (err: NodeJS.ErrnoException) => resolve(`request error ${err.code}`));
  });
  assert.notEqual(outcome, 'complete');
});

test('app too slow with --upstream-timeout: 504 upstream_timeout', async () => {
  const app = await startApp(() => {});
  const p = await startProxy(['--app-port', String(app.port), '--upstream-timeout', '0.5']);
  after(async () => { await p.stop(); await app.close(); });
  const r = await request(p.port, { path: '/' });
  assert.equal(r.status, 504);
  assert.equal(r.headers['ebb-proxy-error'], 'upstream_timeout');
});
