import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, startProxy, state, deferred, request, eventually } from './harness.js';

// Requests pipelined behind one the app is still answering wait their turn in the proxy (one app
// connection per client connection, as HAProxy and nginx forward them). What they hold is counted
// against --max-buffered-bytes like any held bytes: past the budget the connection holding the
// most is closed, so --max-pipelined x --max-header-bytes x --max-connections is not the bound.
interface Buffered { bytes: number; highest: number; budget: number; closedConnections: number }
const buffered = async (admin: number): Promise<Buffered> => (await state(admin)).buffered as Buffered;

const BUDGET = 64 * 1024;

test('pipelined requests waiting behind a slow one count against --max-buffered-bytes; past it their connection is closed, another client is served', async () => {
  const hold = deferred();
  const app = await startApp(async (req, res) => {
    if (req.url === '/slow') await hold.promise;
    res.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port), '--max-buffered-bytes', String(BUDGET), '--max-pipelined', '16']);
  after(async () => { hold.resolve(); await p.stop(); await app.close(); });

  // The first request keeps the app busy; 15 more, each ~8 KiB of head, wait behind it: ~120 KiB.
  const big = `X-Pad-A: ${'a'.repeat(4000)}\r\nX-Pad-B: ${'b'.repeat(4000)}\r\n`;
  let wire = 'GET /slow HTTP/1.1\r\nHost: t\r\n\r\n';
  for (let i = 0; i < 15; i++) wire += `GET /n${i} HTTP/1.1\r\nHost: t\r\n${big}\r\n`;
  const s = net.connect(p.port, '127.0.0.1');
  s.on('error', () => {});
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  s.write(wire);

  // Without the count it stays open, holding every head until the slow answer (20 s: a bound, not a timing).
  const wasClosed = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  assert.ok(wasClosed, `the connection holding ~120 KiB of waiting requests was not closed: ${JSON.stringify(await buffered(p.admin))}`);
  await eventually(async () => (await buffered(p.admin)).bytes === 0, 'the closed connection\'s bytes released');
  const b = await buffered(p.admin);
  assert.ok(b.closedConnections >= 1, `the budget closed the holder: ${JSON.stringify(b)}`);
  assert.ok(b.highest <= BUDGET, `what was counted stayed within the budget: ${JSON.stringify(b)}`);

  // Another client is unaffected.
  const r = await request(p.port, { path: '/other' });
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'ok');
});

test('pipelined requests under the budget are all answered in order, and release what they held', async () => {
  const app = await startApp((req, res) => { res.end(req.url); });
  const p = await startProxy(['--app-port', String(app.port), '--max-buffered-bytes', String(BUDGET)]);
  after(async () => { await p.stop(); await app.close(); });
  const pad = `X-Pad: ${'p'.repeat(2000)}\r\n`;
  let wire = '';
  for (let i = 0; i < 10; i++) wire += `GET /r${i} HTTP/1.1\r\nHost: t\r\n${pad}\r\n`;
  const s = net.connect(p.port, '127.0.0.1');
  let got = '';
  s.setEncoding('latin1').on('data', (d: string) => { got += d; });
  s.write(wire);
  for (let i = 0; i < 200 && (got.match(/HTTP\/1\.1 200/g) ?? []).length < 10; i++) await new Promise((r) => setTimeout(r, 25));
  s.destroy();
  const bodies = [...got.matchAll(/\r\n\r\n(\/r\d)/g)].map((m) => m[1]);
  assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `/r${i}`));
  const b = await buffered(p.admin);
  assert.equal(b.closedConnections, 0);
  assert.ok(b.highest > 0, `the waiting requests were counted: ${JSON.stringify(b)}`);
});
