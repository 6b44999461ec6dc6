import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, request } from './harness.js';
import { runEbb } from '../helpers.js';

// Most Jobs declare no port: `ebb inject` then writes EBB_INBOUND=none, and the proxy must still
// start, turn ready (the app waits for that) and leave on TERM.
for (const [how, args, env] of [
  ['--inbound none', ['--inbound', 'none'], {}],
  ['EBB_INBOUND=none', [], { EBB_INBOUND: 'none' }],
] as const) {
  test(`${how}: no inbound listener, admin ready, TERM exits 0`, async () => {
    const p = await startProxy([...args], { ...env });
    after(() => p.stop());
    assert.deepEqual(p.inbound, []);
    assert.equal((await request(p.admin, { path: '/ready' })).status, 200);
    p.signal('SIGTERM');
    assert.equal((await p.exited).code, 0);
  });
}

test('without --app-port, --inbound or --transparent the proxy still refuses to start (exit 64)', async () => {
  const r = await runEbb(['proxy', '--admin-port', '0'], { env: { EBB_APP_PORT: '', EBB_INBOUND: '' } });
  assert.equal(r.code, 64);
  assert.match(r.stderr, /--inbound none for a pod that takes no inbound traffic/);
});
