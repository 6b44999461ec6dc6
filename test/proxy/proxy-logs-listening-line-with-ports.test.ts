import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, request, state } from './harness.js';

test('the listening line names the bound admin and inbound ports, and /state carries them', async () => {
  const app1 = await startApp((_req, res) => res.end('one'));
  const app2 = await startApp((_req, res) => res.end('two'));
  const p = await startProxy(['--app-port', String(app1.port), '--inbound', `0:${app2.port}`]);
  after(async () => { await p.stop(); await app1.close(); await app2.close(); });

  assert.equal(p.inbound.length, 2);
  assert.equal(p.inbound[0]!.appPort, app1.port);
  assert.equal(p.inbound[1]!.appPort, app2.port);
  const line = p.logs.find((l) => l.msg === 'listening')!;
  assert.equal(line.outbound, null);
  assert.ok(p.admin > 0);
  assert.equal((await request(p.inbound[0]!.port)).body.toString(), 'one');
  assert.equal((await request(p.inbound[1]!.port)).body.toString(), 'two');
  const s = await state(p.admin);
  assert.deepEqual(s.ports, { admin: p.admin, inbound: p.inbound, outbound: null });
  assert.equal(s.phase, 'running');
});
