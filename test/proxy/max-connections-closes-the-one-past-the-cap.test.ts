import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startApp, rawConnect, request, state, eventually, type RawConnection } from './harness.js';

// --max-connections bounds the client connections open at once over every inbound listener (what
// HAProxy's maxconn and nginx's worker_connections bound): one past it is closed at accept, before
// anything is read from it, while the open ones are served as before; a freed slot takes a new one.

const GET = 'GET /x HTTP/1.1\r\nHost: app\r\n\r\n';

async function served(c: RawConnection, n: number): Promise<void> {
  c.socket.write(GET);
  await eventually(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === n, `response ${n}`);
}

test('--max-connections 2: a third connection is closed unanswered, the two open ones keep being served, a freed slot is taken again', async () => {
  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port), '--max-connections', '2']);
  after(async () => { await p.stop(); await app.close(); });

  const a = await rawConnect(p.port);
  const b = await rawConnect(p.port);
  after(() => { a.socket.destroy(); b.socket.destroy(); });
  await served(a, 1);
  await served(b, 1);

  const third = await rawConnect(p.port);
  third.socket.write(GET);
  assert.equal(await third.closed, '', 'closed with no answer');
  const metrics = (await request(p.admin, { path: '/metrics' })).body.toString();
  assert.match(metrics, /^ebb_connections_refused_total 1$/m);
  assert.match(metrics, /^ebb_client_connections 2$/m);

  await served(a, 2);
  await served(b, 2);

  a.socket.destroy();
  await eventually(async () => ((await state(p.admin)).clientConnections as { open: number }).open === 1, 'the slot freed');
  const next = await rawConnect(p.port);
  after(() => next.socket.destroy());
  await served(next, 1);
});
