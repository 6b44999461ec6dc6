import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy, request, state } from './harness.js';

// KEP-1669, the last replica: kube-proxy keeps sending new connections to a terminating pod while it
// is `serving`, which /ready decides. Once the wait is over the proxy fails /ready but must keep
// accepting until that has taken effect (traffic stops), or those clients are refused with
// nowhere else to go. --withdraw-timeout bounds it; 0 (the default) is the old behaviour.

/** A client that keeps opening new connections (one request each) until stopped; bounded. */
function steadyClient(port: number): { stop(): Promise<Array<{ status: number; connection: string | undefined }>> } {
  const seen: Array<{ status: number; connection: string | undefined }> = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; i < 400 && !stopped; i++) {
      const r = await request(port, { path: `/n${i}` }).catch((e: NodeJS.ErrnoException) => ({ status: 0, headers: { connection: e.code } }));
      seen.push({ status: r.status, connection: r.headers.connection });
      await new Promise((res) => setTimeout(res, 100));
    }
  })();
  return { async stop() { stopped = true; await loop; return seen; } };
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

test('withdrawing: /ready 503 while new connections are still served (Connection: close); the listener closes once inbound is quiet', async () => {
  const app = await startApp((_req, res) => { res.end('ok'); });
  const p = await startProxy(['--app-port', String(app.port), '--wait-before-exit', '0', '--withdraw-timeout', '120', '--drain-timeout', '30']);
  after(async () => { await p.stop(); await app.close(); });

  const client = steadyClient(p.port);
  await request(p.port, { path: '/warm' });
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'withdrawing: /ready answers 503; still accepting until inbound is quiet', 'withdrawing');
  const ready = await request(p.admin, { path: '/ready' });
  // Judged only while still withdrawing (the steady client keeps it so).
  const st = await state(p.admin);
  assert.equal(st.phase, 'withdrawing', 'the steady client keeps inbound busy, so withdrawing lasts');
  assert.equal(ready.status, 503, ready.body.toString());
  assert.equal(ready.headers['ebb-phase'], 'withdrawing');
  const fresh = await request(p.port, { path: '/during-withdrawing' });
  assert.equal(fresh.status, 200, 'a new connection while withdrawing is served, not refused');
  assert.equal(fresh.body.toString(), 'ok');
  assert.equal(fresh.headers.connection, 'close', 'and told to leave');

  const seen = await client.stop();
  assert.ok(seen.length > 0 && seen.every((r) => r.status === 200), `every request of the steady client was served: ${JSON.stringify(seen.filter((r) => r.status !== 200))}`);
  const draining = await p.waitForLog((l) => l.msg === 'draining', 'draining after quiet');
  assert.match(String(draining.withdrawEndedBy), /^quiet for 2s$/);
  // The listener closes at draining; the process exits once idle.
  const exit = await p.exited;
  assert.equal(exit.code, 0);
  assert.equal(await connectRefused(p.port), true);
  const done = await p.waitForLog((l) => l.msg === 'shutdown complete');
  assert.equal(done.withdrawEndedBy, 'quiet for 2s');
});

/** A proxy TERMed under steady traffic: how withdrawing ended (its `draining` line) and its exit code. */
async function termUnderTraffic(appPort: number, args: string[]): Promise<{ withdrawEndedBy: unknown; code: number | null }> {
  const p = await startProxy(['--app-port', String(appPort), '--drain-timeout', '30', ...args]);
  after(() => p.stop());
  const client = steadyClient(p.port);
  await request(p.port, { path: '/warm' });
  p.signal('SIGTERM');
  const draining = await p.waitForLog((l) => l.msg === 'draining', 'draining');
  await client.stop();
  return { withdrawEndedBy: draining.withdrawEndedBy, code: (await p.exited).code };
}

test('withdrawing ends at --withdraw-timeout while traffic never stops; 0 skips it (connects refused when the wait ends)', async () => {
  const app = await startApp((_req, res) => { res.end('ok'); });
  after(() => app.close());
  const timedOut = await termUnderTraffic(app.port, ['--withdraw-timeout', '3']);
  assert.equal(timedOut.withdrawEndedBy, 'timeout 3s reached');
  assert.equal(timedOut.code, 0);

  const skipped = await termUnderTraffic(app.port, []);
  assert.equal(skipped.withdrawEndedBy, 'skipped');
  assert.equal(skipped.code, 0);
});
