import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, request, state, eventually, deferred } from './harness.js';

test('from TERM on: /ready 503, /live 200, /state shows the phase; second TERM is ignored', async () => {
  const hold = deferred();
  const app = await startApp(async (_req, res) => { await hold.promise; res.end('done'); });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { hold.resolve(); await p.stop(); await app.close(); });

  assert.equal((await request(p.admin, { path: '/ready' })).status, 200);
  assert.equal((await request(p.admin, { path: '/live' })).status, 200);
  const inFlight = request(p.port, { path: '/held' });
  await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 1, 'request in flight');

  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'draining');
  assert.equal((await request(p.admin, { path: '/ready' })).status, 503);
  assert.equal((await request(p.admin, { path: '/live' })).status, 200);
  const s = await state(p.admin);
  assert.equal(s.phase, 'draining');
  assert.equal(s.reason, 'SIGTERM');
  assert.equal((s.inFlight as { requests: number }).requests, 1);
  const metrics = (await request(p.admin, { path: '/metrics' })).body.toString();
  assert.match(metrics, /ebb_shutdown_phase\{phase="draining"\} 1/);
  assert.match(metrics, /ebb_requests_in_flight 1/);

  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown already in progress; trigger ignored');
  assert.equal((await state(p.admin)).phase, 'draining');

  hold.resolve();
  assert.equal((await inFlight).body.toString(), 'done');
  assert.equal((await p.exited).code, 0);
});
