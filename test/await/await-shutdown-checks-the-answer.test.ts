import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb } from '../helpers.js';
import { markThen, startFakeAdmin, type FakeAdmin } from './support.js';

const fakes: FakeAdmin[] = [];
after(async () => { await Promise.all(fakes.map((f) => f.close())); });

test('--shutdown posts /shutdown after the command ends and keeps the command\'s exit code', async () => {
  const f = await startFakeAdmin({ shutdownStatus: 202 });
  fakes.push(f);
  const r = await runEbb(['await', '--port', String(f.port), '--shutdown', '--', ...markThen(f.port, 'command', 'process.exit(3)')]);
  assert.equal(r.code, 3);
  assert.deepEqual(f.events, ['ready:200', 'mark:command', 'shutdown:202']);
  assert.doesNotMatch(r.stderr, /ERROR/);
});

test('--shutdown reports a 404 (endpoint not enabled) loudly, and the exit code stays the command\'s', async () => {
  const f = await startFakeAdmin({ shutdownStatus: 404 });
  fakes.push(f);
  const r = await runEbb(['await', '--port', String(f.port), '--shutdown', '--', process.execPath, '-e', 'process.exit(0)']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /ERROR: could not shut the proxy down: .*answered 404.*EBB_SHUTDOWN_ENDPOINT=true/);
  assert.match(r.stderr, /the pod will not complete/);
});

test('--shutdown reports another error status with its body', async () => {
  const f = await startFakeAdmin({ shutdownStatus: 500 });
  fakes.push(f);
  const r = await runEbb(['await', '--port', String(f.port), '--shutdown', '--', process.execPath, '-e', 'process.exit(4)']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /answered HTTP 500: shutting down/);
});

test('--shutdown reports a proxy that is gone, and the exit code stays the command\'s', async () => {
  const f = await startFakeAdmin();
  fakes.push(f);
  // The command closes the admin server before exiting, so the POST finds nothing listening.
  const r = await runEbb(['await', '--port', String(f.port), '--shutdown', '--', ...markThen(f.port, 'close-admin', 'process.exit(9)')]);
  assert.equal(r.code, 9);
  assert.deepEqual(f.events, ['ready:200', 'mark:close-admin']);
  assert.match(r.stderr, /ERROR: could not shut the proxy down: POST http:\/\/127\.0\.0\.1:\d+\/shutdown failed: connection refused/);
});

test('without --shutdown nothing is posted', async () => {
  const f = await startFakeAdmin();
  fakes.push(f);
  const r = await runEbb(['await', '--port', String(f.port), '--', process.execPath, '-e', '']);
  assert.equal(r.code, 0);
  assert.deepEqual(f.events, ['ready:200']);
});
