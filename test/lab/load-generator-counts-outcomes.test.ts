import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDemoApp, parseLatency, latencySampler, seededRandom, type DemoApp } from '../../src/lab/demo-app.js';
import { LoadGenerator, planClients, CLIENT_KINDS } from '../../src/lab/load.js';

const apps: DemoApp[] = [];
after(async () => { await Promise.all(apps.map((a) => a.close())); });

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('clients are spread over [0, MAX] with one at MAX, and every kind is present', () => {
  const plans = planClients(200, 5);
  assert.equal(plans[0]!.delayMs, 0);
  assert.equal(Math.max(...plans.map((p) => p.delayMs)), 5000);
  assert.deepEqual(new Set(plans.map((p) => p.kind)), new Set(CLIENT_KINDS));
  assert.ok(Math.abs(plans.reduce((s, p) => s + p.rps, 0) - 200) < 1e-9);
  assert.equal(planClients(3, 1).length, 3);
});

test('the latency distribution follows its weights', () => {
  const sample = latencySampler(parseLatency('10ms:90,2s:10'), seededRandom(7));
  let slow = 0;
  for (let i = 0; i < 2000; i++) if (sample() === 2000) slow++;
  assert.ok(slow > 100 && slow < 300, `slow=${slow}`);
  assert.throws(() => parseLatency('fast'));
});

test('every kind of client gets answers from the demo app; a closed port counts as refused', async () => {
  const app = await startDemoApp({ latency: '1ms' });
  apps.push(app);
  const dead = await closedPort();
  const load = new LoadGenerator({
    clients: planClients(60, 0.3, 6), ports: { old: dead, new: app.port }, timeoutMs: 10_000, maxRequests: 200,
  });
  load.start();
  load.markT0();
  await new Promise((r) => setTimeout(r, 1500));
  await load.stop();
  const recs = load.records;
  assert.ok(recs.length > 20, `only ${recs.length} requests`);
  for (const kind of CLIENT_KINDS) {
    assert.ok(recs.some((r) => r.kind === kind && r.target === 'new' && r.outcome === 'ok'), `${kind} got an answer`);
  }
  // The first client switches at 0 s; the others were still sending to the dead port for a while.
  const toOld = recs.filter((r) => r.target === 'old');
  assert.ok(toOld.length > 0);
  assert.ok(toOld.every((r) => r.outcome === 'refused'), JSON.stringify(toOld.find((r) => r.outcome !== 'refused')));
  assert.ok(recs.filter((r) => r.target === 'new').every((r) => r.outcome === 'ok'));
});

test('the demo app finishes a slow request in flight when it stops, then refuses', async () => {
  const app = await startDemoApp({ latency: '1ms' });
  const res = fetch(`http://127.0.0.1:${app.port}/?ms=300`).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 100));
  const closed = app.close();
  assert.match(await res, /^ok/);
  await closed;
  await assert.rejects(fetch(`http://127.0.0.1:${app.port}/`));
});
