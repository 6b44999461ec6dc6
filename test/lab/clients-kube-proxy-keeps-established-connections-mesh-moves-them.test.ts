import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemoApp, type DemoApp } from '../../src/lab/demo-app.js';
import { LoadGenerator, planClients, type ClientModel, type RequestRecord } from '../../src/lab/load.js';

const apps: DemoApp[] = [];
after(async () => { await Promise.all(apps.map((a) => a.close())); });

/** Load on old until every client has had an answer, then the removal (every client's delay 0) and 1 s more. */
async function run(model: ClientModel): Promise<RequestRecord[]> {
  const [old, neu] = [await startDemoApp({ latency: '1ms' }), await startDemoApp({ latency: '1ms' })];
  apps.push(old, neu);
  const clients = planClients(60, 0, 6);
  const load = new LoadGenerator({ clients, ports: { old: old.port, new: neu.port }, timeoutMs: 10_000, maxRequests: 400, model });
  load.start();
  for (let i = 0; i < 100 && !clients.every((c) => load.records.some((r) => r.client === c.id && r.outcome === 'ok')); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  load.markT0();
  await new Promise((r) => setTimeout(r, 1000));
  await load.stop();
  return load.records.filter((r) => r.start > 0);
}

test('kube-proxy model: established keep-alive and HTTP/2 connections stay on old; new connections go to new', async () => {
  const after = await run('kube-proxy');
  for (const kind of ['h1-keepalive', 'h2'] as const) {
    const recs = after.filter((r) => r.kind === kind);
    assert.ok(recs.length > 0);
    assert.ok(recs.every((r) => r.target === 'old' && r.outcome === 'ok'), `${kind}: ${JSON.stringify(recs.find((r) => r.target !== 'old'))}`);
  }
  const fresh = after.filter((r) => r.kind === 'h1-new-connection');
  assert.ok(fresh.length > 0 && fresh.every((r) => r.target === 'new' && r.outcome === 'ok'));
});

test('mesh model: every request goes to new after the delay', async () => {
  const after = await run('mesh');
  assert.ok(after.length > 0);
  assert.ok(after.every((r) => r.target === 'new' && r.outcome === 'ok'), JSON.stringify(after.find((r) => r.target !== 'new')));
});
