import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseWaitBeforeExit } from '../../src/drain/index.js';
import { startApp, startProxy, request, state, type App, type ProxyProcess } from './harness.js';

const apps: App[] = [];
const proxies: ProxyProcess[] = [];
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all(apps.map((a) => a.close()));
});

async function setup(args: string[]): Promise<ProxyProcess> {
  const app = await startApp((req, res) => res.end(req.url));
  apps.push(app);
  const p = await startProxy(['--app-port', String(app.port), ...args]);
  proxies.push(p);
  // Signal handlers are installed after the listening line; the admin server answering means they are.
  await state(p.admin);
  return p;
}

/** Sends a request every 100 ms until stop() (bounded by `maxMs`); each result is kept in order. */
function traffic(port: number, maxMs = 60_000): { stop: () => Promise<number[]>; lastOkAt: () => number } {
  let running = true;
  let lastOk = 0;
  const statuses: number[] = [];
  const loop = (async () => {
    const until = Date.now() + maxMs;
    while (running && Date.now() < until) {
      try { statuses.push((await request(port, { path: '/t' })).status); lastOk = performance.now(); } catch { statuses.push(0); }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop: async () => { running = false; await loop; return statuses; }, lastOkAt: () => lastOk };
}

const getJson = async (port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await request(port, { path });
  return { status: r.status, body: JSON.parse(r.body.toString()) as Record<string, unknown> };
};

test('--wait-before-exit auto parses with defaults 2, 2, 25 and rejects bad bounds', () => {
  assert.deepEqual(parseWaitBeforeExit('auto'), { ok: true, value: { mode: 'auto', minSeconds: 2, quietSeconds: 2, maxSeconds: 25 } });
  assert.deepEqual(parseWaitBeforeExit('auto:1:0.5:10'), { ok: true, value: { mode: 'auto', minSeconds: 1, quietSeconds: 0.5, maxSeconds: 10 } });
  for (const bad of ['auto:5:2:1', 'auto:1:0:5', 'auto:-1:2:5', 'auto:1:2', 'auto:a:2:5', 'automatic']) {
    assert.equal(parseWaitBeforeExit(bad).ok, false, bad);
  }
});

test('GET /wait-quiet answers only after inbound traffic stops, and changes no state', async () => {
  const p = await setup([]);
  const t = traffic(p.port);
  await request(p.port, { path: '/first' });
  let answeredAt = 0;
  const waiting = getJson(p.admin, '/wait-quiet?max=60&quiet=2&min=0').then((r) => { answeredAt = performance.now(); return r; });
  // While traffic flows it does not answer; let several requests pass.
  for (let i = 0; i < 5; i++) await request(p.port, { path: '/more' });
  assert.equal(answeredAt, 0, 'answered while traffic was flowing');
  const statuses = await t.stop();
  assert.ok(statuses.every((s) => s === 200));
  const r = await waiting;
  assert.equal(r.status, 200);
  assert.equal(r.body.quiet, true);
  // Not transparent: the answer says that only traffic through the proxy's ports was watched.
  assert.match(String(r.body.sees), /only traffic sent to the proxy's inbound ports/);
  assert.match(String(r.body.caveat), /bypass the proxy/);
  assert.ok(answeredAt > t.lastOkAt(), 'answered after the last request');
  const s = await state(p.admin);
  assert.equal(s.phase, 'running');
  assert.equal(typeof s.quietSeconds, 'number');
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200);
  assert.match((await request(p.admin, { path: '/metrics' })).body.toString(), /^ebb_inbound_quiet_seconds \d/m);
});

test('GET /wait-quiet answers 200 with a note at max, and 400 for a bad max', async () => {
  const p = await setup([]);
  const t = traffic(p.port);
  const r = await getJson(p.admin, '/wait-quiet?max=0.3&quiet=30');
  await t.stop();
  assert.equal(r.status, 200);
  assert.equal(r.body.quiet, false);
  assert.match(String(r.body.note), /max 0\.3s reached/);
  assert.equal((await request(p.admin, { path: '/wait-quiet?max=-1' })).status, 400);
  assert.equal((await request(p.admin, { path: '/wait-quiet?max=soon' })).status, 400);
  assert.equal((await state(p.admin)).phase, 'running');
});

test('auto: MIN holds when traffic is already quiet; the proxy serves while waiting and exits 0', async () => {
  const p = await setup(['--wait-before-exit', 'auto:5:0.2:20']);
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started');
  // Quiet already, but MIN not yet elapsed: still accepting and serving.
  const r = await request(p.port, { path: '/during-min' });
  assert.equal(r.status, 200);
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.ok(Number(summary.waitingMs) >= 5000, `waited ${String(summary.waitingMs)} ms, MIN is 5000`);
  assert.match(String(summary.waitEndedBy), /quiet/);
});

test('auto: the proxy keeps serving while traffic flows and leaves once it stops', async () => {
  const p = await setup(['--wait-before-exit', 'auto:0:1:60']);
  const t = traffic(p.port);
  await request(p.port, { path: '/warm' });
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started');
  for (let i = 0; i < 5; i++) assert.equal((await request(p.port, { path: '/still' })).status, 200);
  assert.equal((await state(p.admin)).phase, 'waiting');
  const statuses = await t.stop();
  const stoppedAt = performance.now();
  assert.ok(statuses.every((s) => s === 200), 'nothing lost while waiting');
  assert.equal((await p.exited).code, 0);
  assert.ok(performance.now() > stoppedAt);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.match(String(summary.waitEndedBy), /quiet/);
});

test('auto: MAX bounds the wait even when traffic never stops', async () => {
  const p = await setup(['--wait-before-exit', 'auto:0:30:1', '--drain-timeout', '5']);
  const t = traffic(p.port);
  await request(p.port, { path: '/warm' });
  p.signal('SIGTERM');
  // Bounded: the harness waits at most for the traffic loop's own limit.
  const exit = await Promise.race([p.exited, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 60_000))]);
  await t.stop();
  assert.notEqual(exit, 'stuck');
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.match(String(summary.waitEndedBy), /max 1s/);
  assert.ok(Number(summary.waitingMs) >= 1000);
});
