import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startProxy, startH2App, state, eventually, request } from './harness.js';
import { H2Conn, ERROR, FRAME, SETTING, headers, parseGoaway, requestFields } from './h2-frames.js';

// The per-connection limits bound what one zero-window HTTP/2 client makes the proxy hold (its
// stalled streams, each with a chunk of its response waiting for a window that never opens: about
// 160 KiB here); eight such clients hold eight times that. --max-buffered-bytes bounds the sum over every connection: the
// bytes the proxy counts never pass it, the clients holding the most are closed (GOAWAY
// ENHANCE_YOUR_CALM), and a client that reads downloads in full meanwhile. Bytes, not RSS.

const MB = 1024 * 1024;
const BUDGET = 512 * 1024;

interface Buffered { bytes: number; highest: number; budget: number; closedConnections: number; throttledChunks: number }
const buffered = async (admin: number): Promise<Buffered> => (await state(admin)).buffered as Buffered;

function download(c: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = c.request({ ':path': '/big' });
    let n = 0;
    r.on('data', (d: Buffer) => { n += d.length; });
    r.on('end', () => resolve(n));
    r.on('error', reject);
    r.end();
  });
}

test('eight zero-window h2 clients: counted bytes stay within --max-buffered-bytes, the holders are closed with ENHANCE_YOUR_CALM, a reading client gets every byte', async () => {
  const app = await startH2App((stream) => {
    stream.on('error', () => {});
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(MB, 7));
  });
  const p = await startProxy(['--app-port', String(app.port), '--max-buffered-bytes', String(BUDGET)]);
  after(async () => { await p.stop(); await app.close(); });

  const attackers = await Promise.all(Array.from({ length: 8 }, () => H2Conn.connect(p.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]] })));
  after(() => { for (const a of attackers) a.destroy(); });
  for (const a of attackers) {
    const frames: Buffer[] = [];
    for (let id = 1; id < 200; id += 2) frames.push(headers(id, requestFields({ path: '/big' }), { endStream: true }));
    a.send(...frames);
  }
  // Without the budget the eight would hold about 1.3 MiB.
  await eventually(async () => (await buffered(p.admin)).closedConnections >= 1, 'a connection closed for the budget');
  const calm = await Promise.race(attackers.map((a) => a.goaway().then((g) => g.code).catch(() => new Promise<number>(() => {}))));
  assert.equal(calm, ERROR.ENHANCE_YOUR_CALM, 'the closed attacker got GOAWAY ENHANCE_YOUR_CALM');

  const victim = http2.connect(`http://127.0.0.1:${p.port}`);
  after(() => victim.destroy());
  for (let round = 0; round < 3; round++) {
    assert.deepEqual(await Promise.all([download(victim), download(victim), download(victim)]), [MB, MB, MB], `round ${round}: every byte`);
  }
  assert.equal(victim.closed || victim.destroyed, false, 'the reading client was never closed');

  const b = await buffered(p.admin);
  assert.equal(b.budget, BUDGET);
  assert.ok(b.highest <= BUDGET, `highest counted ${b.highest} within the budget ${BUDGET}`);
  assert.ok(b.highest > BUDGET / 2, `the attackers did fill the budget (highest ${b.highest})`);
  const metrics = (await request(p.admin, { path: '/metrics' })).body.toString();
  assert.match(metrics, new RegExp(`^ebb_buffer_budget_bytes ${BUDGET}$`, 'm'));
  assert.match(metrics, /^ebb_buffer_budget_closed_connections_total [1-9]/m);

  for (const a of attackers) a.destroy();
  await eventually(async () => (await buffered(p.admin)).bytes === 0, 'nothing counted once the attackers are gone');
  assert.ok(attackers.some((a) => a.frames.some((f) => f.type === FRAME.GOAWAY && parseGoaway(f).code === ERROR.ENHANCE_YOUR_CALM)));
});
