import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { startApp, startProxy, request, state, deferred, eventually } from './harness.js';

// GET /prestop (the proxy's preStop hook, at t0) tells HTTP/1 clients to leave at once, while the
// proxy keeps serving as before: idle keep-alive connections close, the response in flight and
// every later one carry Connection: close. The drain's phase does not change (TERM comes later).
test('GET /prestop: idle keep-alive closes, in-flight and new responses carry Connection: close, still running', async () => {
  const release = deferred();
  const app = await startApp((req, res) => {
    if (req.url === '/slow') void release.promise.then(() => res.end('slow'));
    else res.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  after(async () => { agent.destroy(); await p.stop(); await app.close(); });

  // An idle keep-alive connection in the agent's pool.
  const idleClosed = deferred();
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: '/', agent }, (res) => {
      assert.equal(res.headers.connection, 'keep-alive');
      res.resume().on('end', resolve);
    });
    req.on('socket', (s: Socket) => s.once('close', () => idleClosed.resolve()));
    req.on('error', reject);
  });
  // A request in flight on its own keep-alive connection.
  const slow = request(p.port, { path: '/slow', agent: new http.Agent({ keepAlive: true }) });
  await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 1, 'the slow request in flight');

  const hook = await request(p.admin, { path: '/prestop?seconds=0' });
  assert.equal(hook.status, 200, hook.body.toString());
  await idleClosed.promise; // closed by the proxy, not by a drain: nothing was triggered
  const st = await state(p.admin);
  assert.equal(st.phase, 'running');
  assert.equal(st.terminating, true);

  release.resolve();
  const r = await slow;
  assert.equal(r.body.toString(), 'slow');
  assert.equal(r.headers.connection, 'close', 'the response in flight at /prestop closes its connection');

  const fresh = await request(p.port, { path: '/', headers: { connection: 'keep-alive' } });
  assert.equal(fresh.status, 200, 'still served');
  assert.equal(fresh.headers.connection, 'close', 'a new connection is served once, then closed');
  assert.equal(p.child.exitCode, null, 'the proxy still runs: its TERM comes later');
});
