import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, request, state, deferred } from './harness.js';

// KEP-1669: kube-proxy falls back to terminating endpoints that are still `serving` when a Service
// has no ready endpoint; /ready is that `serving`, so it must hold while the proxy still serves.
test('/ready stays 200 through waiting (terminating, still serving) and is 503 from draining on', async () => {
  const hold = deferred();
  const app = await startApp(async (_req, res) => { await hold.promise; res.end('done'); });
  // A 4 s wait to observe; the held request keeps the drain open after it, to observe draining.
  const p = await startProxy(['--app-port', String(app.port), '--wait-before-exit', '4', '--drain-timeout', '60']);
  after(async () => { hold.resolve(); await p.stop(); await app.close(); });

  const inFlight = request(p.port, { path: '/held' });
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started');
  const ready = await request(p.admin, { path: '/ready' });
  // Judged only if the proxy was still waiting once /ready had answered (it can only have been
  // waiting when it answered): a stalled machine may skip this half, never make it fail wrongly.
  if ((await state(p.admin)).phase === 'waiting') {
    assert.equal(ready.status, 200, ready.body.toString());
    assert.equal(ready.headers['ebb-phase'], 'waiting');
    assert.match(ready.body.toString(), /terminating, still serving/);
  }

  await p.waitForLog((l) => l.msg === 'draining');
  const draining = await request(p.admin, { path: '/ready' });
  assert.equal(draining.status, 503);
  assert.equal(draining.headers['ebb-phase'], 'draining');

  hold.resolve();
  assert.equal((await inFlight).body.toString(), 'done');
  assert.equal((await p.exited).code, 0);
});
