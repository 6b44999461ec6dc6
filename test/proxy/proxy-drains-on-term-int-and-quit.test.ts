import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, request, state, eventually, deferred } from './harness.js';

// A container's stop signal is the image's STOPSIGNAL or lifecycle.stopSignal (KEP-4960), not
// always TERM: nginx-style images say SIGQUIT. Each must start the same graceful drain.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
  test(`${sig}: the proxy drains (the request in flight finishes) and exits 0`, async () => {
    const hold = deferred();
    const app = await startApp(async (_req, res) => { await hold.promise; res.end('done'); });
    const p = await startProxy(['--app-port', String(app.port)]);
    after(async () => { hold.resolve(); await p.stop(); await app.close(); });
    const inFlight = request(p.port, { path: '/held' });
    await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 1, 'request in flight');
    p.signal(sig);
    await p.waitForLog((l) => l.msg === 'draining');
    assert.equal((await state(p.admin)).reason, sig);
    hold.resolve();
    assert.equal((await inFlight).body.toString(), 'done');
    assert.deepEqual(await p.exited, { code: 0, signal: null });
  });
}
