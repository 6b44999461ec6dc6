import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { startProxy, startApp, rawConnect, request, state, eventually } from './harness.js';

// HTTP/1 clients that ask for a large response and never read it: once the kernel's socket buffers
// are full, each makes the proxy hold what it has written towards it (node's write buffer, at most
// its high-water mark and a chunk, since the app side is paused then). --max-buffered-bytes bounds
// the sum: past it the connections holding the most are closed, the counted bytes never pass it,
// and a client that reads gets every byte of its responses meanwhile.

const BUDGET = 128 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);

/** Writes `bytes` with backpressure, then ends. */
function stream(res: ServerResponse, bytes: number): void {
  res.writeHead(200, { 'content-length': String(bytes) });
  let left = bytes;
  const more = (): void => {
    while (left > 0) {
      const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= part.length;
      if (!res.write(part)) { res.once('drain', more); return; }
    }
    res.end();
  };
  more();
}

interface Buffered { bytes: number; highest: number; closedConnections: number }
const buffered = async (admin: number): Promise<Buffered> => (await state(admin)).buffered as Buffered;

test('h1 clients that never read: counted bytes stay within --max-buffered-bytes, the holders are closed, a reading client gets every byte', async () => {
  const app = await startApp((req, res) => stream(res, req.url === '/huge' ? 64 * 1024 * 1024 : 1024 * 1024));
  const p = await startProxy(['--app-port', String(app.port), '--max-buffered-bytes', String(BUDGET)]);
  after(async () => { await p.stop(); await app.close(); });

  const attackers = await Promise.all(Array.from({ length: 4 }, () => rawConnect(p.port)));
  after(() => { for (const a of attackers) a.socket.destroy(); });
  for (const a of attackers) {
    a.socket.pause(); // never reads: the kernel's buffers fill, then the proxy's
    a.socket.write('GET /huge HTTP/1.1\r\nHost: app\r\n\r\n');
  }
  await eventually(async () => (await buffered(p.admin)).closedConnections >= 1, 'a connection closed for the budget');
  const closed = await p.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('buffer budget: closing'), 'the budget\'s log line');
  assert.equal(closed.protocol, 'http1');

  for (let i = 0; i < 5; i++) {
    const r = await request(p.port, { path: '/ok' });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1024 * 1024, `response ${i}: every byte`);
  }
  const b = await buffered(p.admin);
  assert.ok(b.highest <= BUDGET, `highest counted ${b.highest} within the budget ${BUDGET}`);
  assert.ok(b.highest > BUDGET / 2, `the attackers did fill the budget (highest ${b.highest})`);
  assert.match((await request(p.admin, { path: '/metrics' })).body.toString(), /^ebb_buffer_budget_closed_connections_total [1-9]/m);

  for (const a of attackers) a.socket.destroy();
  await eventually(async () => (await buffered(p.admin)).bytes === 0, 'nothing counted once the attackers are gone');
});
