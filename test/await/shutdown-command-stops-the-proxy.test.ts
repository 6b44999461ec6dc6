import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy } from '../proxy/harness.js';
import { runEbb } from '../helpers.js';

// Exec-based sidecar killers (Argo, Tekton) run a command in the sidecar: `ebb shutdown` is that
// command in the distroless image (no shell, no curl).
test('ebb shutdown --wait: POST /shutdown, then exit 0 once the proxy has exited', async () => {
  const p = await startProxy(['--shutdown-endpoint', '--inbound', 'none']);
  after(() => p.stop());
  const r = await runEbb(['shutdown', '--admin-port', String(p.admin), '--wait', '--timeout', '60']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /shutting down \(POST \/shutdown answered 202\)/);
  assert.match(r.stderr, /the proxy has exited/);
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.ok(p.logs.some((l) => l.msg === 'shutdown started' && l.reason === 'POST /shutdown'));
});

test('ebb shutdown with the endpoint off: SIGTERM to the proxy that holds the admin port (shared process namespace)', async () => {
  const p = await startProxy(['--inbound', 'none']);
  after(() => p.stop());
  const r = await runEbb(['shutdown', '--admin-port', String(p.admin), '--wait', '--timeout', '60']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sent SIGTERM to ebb proxy \(pid \d+\)/);
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.ok(p.logs.some((l) => l.msg === 'shutdown started' && l.reason === 'SIGTERM'));
});

test('ebb shutdown with nothing to stop says why and exits 1', async () => {
  const r = await runEbb(['shutdown', '--admin-port', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /POST http:\/\/127\.0\.0\.1:1\/shutdown failed/);
});
