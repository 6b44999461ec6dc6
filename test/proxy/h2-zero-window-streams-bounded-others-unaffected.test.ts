import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { startProxy, state, eventually } from './harness.js';
import { H2Conn, ERROR, FRAME, SETTING, headers, parseRstStream, parseSettings, requestFields, type Frame } from './h2-frames.js';

// A client that announces a zero window (SETTINGS_INITIAL_WINDOW_SIZE 0) and opens streams reads
// nothing: every response it asks for stays in the proxy. The number of streams is bounded
// (MAX_CONCURRENT_STREAMS, advertised and enforced), what each may buffer is bounded (the stream
// window to the app), and what a connection's stalled streams may hold is bounded (new streams
// refused). Another client, with an app that allows only 50 streams per connection, is unaffected.

const MB = 1024 * 1024;

async function bigApp(): Promise<{ port: number; open: () => number; close(): Promise<void> }> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: 50 } });
  const sessions = new Set<http2.ServerHttp2Session>();
  let open = 0;
  server.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)); });
  server.on('stream', (stream) => {
    open++;
    stream.on('close', () => { open--; });
    stream.on('error', () => {});
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(MB, 7));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => open,
    close: () => new Promise<void>((resolve) => { for (const s of sessions) s.destroy(); server.close(() => resolve()); }),
  };
}

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

test('zero-window streams: MAX_CONCURRENT_STREAMS 100 advertised, streams past it refused, another client downloads in full, all released when the attacker leaves', async () => {
  const app = await bigApp();
  const p = await startProxy(['--app-port', String(app.port), '--h2-connection-buffer', '64m']);
  after(async () => { await p.stop(); await app.close(); });

  const attacker = await H2Conn.connect(p.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]] });
  after(() => attacker.destroy());
  const frames: Buffer[] = [];
  for (let i = 0, id = 1; i < 150; i++, id += 2) frames.push(headers(id, requestFields({ path: '/big' }), { endStream: true }));
  attacker.send(...frames);
  const settingsFrame = await attacker.waitForFrame((f) => f.type === FRAME.SETTINGS && !(f.flags & 1), 'the proxy\'s SETTINGS');
  assert.equal(parseSettings(settingsFrame).get(SETTING.MAX_CONCURRENT_STREAMS), 100, 'MAX_CONCURRENT_STREAMS is advertised');
  // Streams 201..299 are past the 100 the proxy allows: refused, never forwarded.
  const pastLimit = (f: Frame): boolean => f.type === FRAME.RST_STREAM && f.streamId > 199 && parseRstStream(f) === ERROR.REFUSED_STREAM;
  await attacker.until(() => attacker.frames.filter(pastLimit).length === 50 || undefined, 'streams past the 100th refused');
  await eventually(() => app.open() > 0, 'the app holds some of the attacker\'s streams');
  assert.ok(app.open() <= 50);

  const victim = http2.connect(`http://127.0.0.1:${p.port}`);
  after(() => victim.destroy());
  assert.deepEqual(await Promise.all([download(victim), download(victim), download(victim)]), [MB, MB, MB]);

  attacker.destroy();
  await eventually(() => app.open() === 0, 'every app stream closed after the attacker left');
  await eventually(async () => {
    const f = (await state(p.admin)).inFlight as { requests: number };
    return f.requests === 0;
  }, 'nothing in flight');
});

test('a connection whose stalled streams could hold more than --h2-connection-buffer gets its new streams refused', async () => {
  const app = await bigApp();
  const p = await startProxy(['--app-port', String(app.port), '--h2-stream-buffer', '64k', '--h2-connection-buffer', '128k']);
  after(async () => { await p.stop(); await app.close(); });
  const c = await H2Conn.connect(p.port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]] });
  after(() => c.destroy());
  for (let id = 1; id <= 5; id += 2) c.send(headers(id, requestFields({ path: '/big' }), { endStream: true }));
  await c.until(() => (c.headersByStream.size === 3) || undefined, 'response headers on the 3 streams');
  // Each stream now waits for a window the client never opens; three may hold 3 x 64k > 128k.
  let id = 7;
  await eventually(async () => {
    c.send(headers(id, requestFields({ path: '/big' }), { endStream: true }));
    const mine = id;
    id += 2;
    const f = await c.until(() => c.frames.find((x) => x.streamId === mine && (x.type === FRAME.RST_STREAM || x.type === FRAME.HEADERS)), `an answer on stream ${mine}`);
    return f.type === FRAME.RST_STREAM && parseRstStream(f) === ERROR.REFUSED_STREAM;
  }, 'a new stream refused', 20);
});
