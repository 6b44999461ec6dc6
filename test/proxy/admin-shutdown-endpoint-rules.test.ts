import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { startApp, startProxy, request } from './harness.js';
import { isLoopback } from '../../src/admin/server.js';

/** A local address that is not loopback, so a request to it comes from a non-loopback address. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return undefined;
}

test('POST /shutdown is 404 when not enabled', async () => {
  const app = await startApp((_req, res) => res.end());
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  assert.equal((await request(p.admin, { method: 'POST', path: '/shutdown' })).status, 404);
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200, 'still running');
});

test('enabled: GET is 405, a non-loopback client gets 403, a loopback POST gets 202 and the proxy exits 0', async () => {
  const app = await startApp((_req, res) => res.end());
  const p = await startProxy(['--app-port', String(app.port)], { EBB_SHUTDOWN_ENDPOINT: 'true' });
  after(async () => { await p.stop(); await app.close(); });

  const get = await request(p.admin, { path: '/shutdown' });
  assert.equal(get.status, 405);
  assert.equal(get.headers.allow, 'POST');

  const outside = nonLoopbackAddress();
  // Without a non-loopback address on the machine the 403 case cannot be produced for real;
  // isLoopback() is then covered by the test below.
  if (outside) {
    const r = await request(p.admin, { host: outside, method: 'POST', path: '/shutdown' });
    assert.equal(r.status, 403);
    assert.equal((await request(p.admin, { path: '/ready' })).status, 200, 'a refused shutdown changes nothing');
  }

  const post = await request(p.admin, { method: 'POST', path: '/shutdown' });
  assert.equal(post.status, 202);
  assert.equal((await p.exited).code, 0);
  assert.ok(p.logs.some((l) => l.msg === 'shutdown started' && l.reason === 'POST /shutdown'));
});

test('only 127.0.0.0/8 and ::1 (also IPv4-mapped) count as loopback', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
  for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fd00::2', '', undefined]) assert.equal(isLoopback(a), false, String(a));
});
