import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb, startEbb } from '../helpers.js';
import { markThen, startFakeAdmin, waitForOutput, type FakeAdmin } from './support.js';

const fakes: FakeAdmin[] = [];
after(async () => { await Promise.all(fakes.map((f) => f.close())); });
async function fake(opts: Parameters<typeof startFakeAdmin>[0]): Promise<FakeAdmin> {
  const f = await startFakeAdmin(opts);
  fakes.push(f);
  return f;
}

test('ebb await runs the command only after /ready has answered 200', async () => {
  const f = await fake({ readyAnswers: (n) => (n < 3 ? 503 : 200) });
  const r = await runEbb(['await', '--port', String(f.port), '--timeout', '60s', '--', ...markThen(f.port, 'command')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(f.events, ['ready:503', 'ready:503', 'ready:503', 'ready:200', 'mark:command']);
});

test('ebb await without a command exits 0 once the proxy is ready (the postStart hook)', async () => {
  const f = await fake({ readyAnswers: (n) => (n < 2 ? 503 : 200) });
  const r = await runEbb(['await', '--port', String(f.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(f.events, ['ready:503', 'ready:503', 'ready:200']);
});

test('ebb await exits 69 with a clear message when the proxy never gets ready, and does not run the command', async () => {
  const f = await fake({ readyAnswers: () => 503 });
  const r = await runEbb(['await', '--port', String(f.port), '--timeout', '1s', '--', ...markThen(f.port, 'command')]);
  assert.equal(r.code, 69);
  assert.match(r.stderr, /not ready at http:\/\/127\.0\.0\.1:\d+\/ready after 1s/);
  assert.match(r.stderr, /last answer: HTTP 503/);
  assert.match(r.stderr, /--timeout-fatal=false/);
  assert.ok(!f.events.includes('mark:command'), `the command ran: ${f.events.join(' ')}`);
});

test('ebb await --timeout-fatal=false runs the command anyway and exits with its code', async () => {
  const f = await fake({ readyAnswers: () => 503 });
  const r = await runEbb(['await', '--port', String(f.port), '--timeout', '1s', '--timeout-fatal=false', '--',
    ...markThen(f.port, 'command', 'process.exit(5)')]);
  assert.equal(r.code, 5, r.stderr);
  assert.ok(f.events.includes('mark:command'));
  assert.match(r.stderr, /running the command anyway/);
});

test('ebb await accepts plain seconds and rejects a timeout that is not a duration', async () => {
  const f = await fake({});
  assert.equal((await runEbb(['await', '--port', String(f.port), '--timeout', '90'])).code, 0);
  const bad = await runEbb(['await', '--port', String(f.port), '--timeout', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"soon" is not a duration/);
});

test('EBB_AWAIT_DISABLED skips the readiness wait but not --shutdown', async () => {
  const f = await fake({ readyAnswers: () => 503 });
  const r = await runEbb(['await', '--port', String(f.port), '--timeout', '10m', '--shutdown', '--', ...markThen(f.port, 'command')],
    { env: { EBB_AWAIT_DISABLED: 'true' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(f.events, ['mark:command', 'shutdown:202']);
});

test('a TERM during the readiness wait ends ebb await with 143 without running the command', async () => {
  const f = await fake({ readyAnswers: () => 503 });
  const child = startEbb(['await', '--port', String(f.port), '--timeout', '10m', '--', ...markThen(f.port, 'command')]);
  try {
    // Wait until it is polling, so the handlers are certainly installed.
    for (let i = 0; i < 600 && !f.events.includes('ready:503'); i++) await new Promise((r) => setTimeout(r, 50));
    const stderr = waitForOutput(child.stderr!, /SIGTERM arrived/);
    child.kill('SIGTERM');
    const [code] = await Promise.all([new Promise((resolve) => child.on('exit', (c) => resolve(c))), stderr]);
    assert.equal(code, 143);
    assert.ok(!f.events.includes('mark:command'));
  } finally {
    child.kill('SIGKILL');
  }
});
