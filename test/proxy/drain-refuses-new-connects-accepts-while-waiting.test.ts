import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy, request, state, eventually, deferred } from './harness.js';

function connect(port: number): Promise<'connected' | string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve('connected'); });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

test('waiting: new connections are accepted and served with Connection: close; draining: a new connect is refused', async () => {
  const hold = deferred();
  const app = await startApp(async (req, res) => {
    if (req.url === '/slow') await hold.promise;
    res.end(req.url);
  });
  // The waiting window only has to be long enough for one local request.
  const p = await startProxy(['--app-port', String(app.port), '--wait-before-exit', '5']);
  after(async () => { hold.resolve(); await p.stop(); await app.close(); });

  // An in-flight request keeps the drain open once draining starts.
  const slow = request(p.port, { path: '/slow' });
  await eventually(async () => (await state(p.admin)).inFlight !== undefined && ((await state(p.admin)).inFlight as { requests: number }).requests === 1, 'slow request in flight');

  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started');
  assert.equal((await state(p.admin)).phase, 'waiting');
  const during = await request(p.port, { path: '/while-waiting' });
  assert.equal(during.status, 200);
  assert.equal(during.body.toString(), '/while-waiting');
  assert.equal(during.headers.connection, 'close');
  assert.equal((await state(p.admin)).servedWhileWaiting, 1);

  await p.waitForLog((l) => l.msg === 'draining', 'draining');
  assert.equal(await connect(p.port), 'ECONNREFUSED');

  hold.resolve();
  const r = await slow;
  assert.equal(r.status, 200);
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.servedWhileWaiting, 1);
  assert.equal(summary.waitEndedBy, 'elapsed');
});
