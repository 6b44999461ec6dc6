import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, startH2App, state, eventually } from './harness.js';
import { H2Conn, SETTING, headers, requestFields } from './h2-frames.js';

// A stream that waits for a zero-window client to read can still receive its whole window from the
// app (--h2-stream-buffer), and the proxy holds what arrives: the budget counts that window for
// every stalled stream, not only the chunk written towards the client. Bytes, not RSS.

const WINDOW = 64 * 1024;

test('three h2 streams stalled on a zero window count three stream windows against --max-buffered-bytes, and nothing once the client is gone', async () => {
  const app = await startH2App((stream) => {
    stream.on('error', () => {});
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(1024 * 1024, 7));
  });
  const p = await startProxy(['--app-port', String(app.port), '--h2-stream-buffer', String(WINDOW)]);
  after(async () => { await p.stop(); await app.close(); });
  const buffered = async (): Promise<number> => ((await state(p.admin)).buffered as { bytes: number }).bytes;

  const c = await H2Conn.connect(p.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]] });
  after(() => c.destroy());
  for (const id of [1, 3, 5]) c.send(headers(id, requestFields({ path: '/big' }), { endStream: true }));
  await c.until(() => c.headersByStream.size === 3 || undefined, 'response headers on the 3 streams');
  await eventually(async () => (await buffered()) >= 3 * WINDOW, 'three stream windows counted');

  c.destroy();
  await eventually(async () => (await buffered()) === 0, 'nothing counted once the client is gone');
  assert.equal(await buffered(), 0);
});
