import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { startApp, startProxy, request, state } from './harness.js';

// The proxy's preStop hook is its wait: GET /prestop?seconds=W answers 200 after W seconds (the
// kubelet then sends TERM, as after `sleep W`), and marks the pod terminating at once. A failed
// hook makes the kubelet send TERM at once, so only a bad `seconds` fails, at once, with a reason.
test('GET /prestop?seconds=1 marks terminating at once and answers after 1 s; bad seconds get a 400 that says why', async () => {
  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  for (const bad of ['-1', 'abc', '', 'Infinity', 'NaN']) {
    const r = await request(p.admin, { path: `/prestop?seconds=${bad}` });
    assert.equal(r.status, 400, `seconds=${bad}`);
    assert.match(r.body.toString(), /seconds=.* must be a number of seconds >= 0/);
  }
  assert.equal((await state(p.admin)).terminating, false, 'a refused hook changes nothing');

  const started = performance.now();
  const hook = request(p.admin, { path: '/prestop?seconds=1' });
  const during = await state(p.admin);
  assert.equal(during.terminating, true, 'terminating from the hook\'s start');
  assert.equal(during.phase, 'running', 'no drain phase: TERM starts that');
  const r = await hook;
  assert.equal(r.status, 200);
  assert.ok(performance.now() - started >= 950, 'the hook lasts its seconds');
  assert.match(r.body.toString(), /^terminating/);

  // A second hook (or one after TERM) still answers 200: the endpoint never fails while the proxy lives.
  assert.equal((await request(p.admin, { path: '/prestop' })).status, 200);
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200, 'still serving: /ready stays 200');
});
