import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startH2App, startProxy, eventually, deferred } from './harness.js';
import { H2Conn, ERROR, headers, requestFields, rstStream } from './h2-frames.js';

// CVE-2023-44487: a client opens streams and resets them at once (HEADERS + RST_STREAM pairs).
// It must not turn into app work beyond a bound, and must not change what other clients get:
// here the app has its own guard (it closes a connection on which more than 50 streams were
// reset), which with one shared app session would take every other client's streams down too.

const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

async function guardedApp(onHeld: (s: http2.ServerHttp2Stream) => void): Promise<{ port: number; attackStreams: () => number; close(): Promise<void> }> {
  let attack = 0;
  const app = await startH2App((stream, h) => {
    stream.on('error', () => {});
    if (h[':path'] === '/attack') {
      attack++;
      const s = stream.session as http2.ServerHttp2Session & { resets?: number };
      stream.on('close', () => {
        if (stream.rstCode === http2.constants.NGHTTP2_CANCEL && (s.resets = (s.resets ?? 0) + 1) > 50 && !s.destroyed) {
          s.destroy(new Error('app guard'), NGHTTP2_ENHANCE_YOUR_CALM);
        }
      });
      return;
    }
    onHeld(stream);
  });
  app.server.on('sessionError', () => {});
  return { port: app.port, attackStreams: () => attack, close: () => app.close() };
}

test('rapid reset: the attacker gets GOAWAY ENHANCE_YOUR_CALM, the app sees a bounded few of its streams, another client\'s requests all succeed', async () => {
  const release = deferred();
  const held: http2.ServerHttp2Stream[] = [];
  const app = await guardedApp((s) => { held.push(s); void release.promise.then(() => { if (!s.destroyed) { s.respond({ ':status': 200 }); s.end('fine'); } }); });
  const p = await startProxy(['--app-port', String(app.port)]);
  const victim = http2.connect(`http://127.0.0.1:${p.port}`);
  victim.on('error', () => {});
  after(async () => { release.resolve(); victim.destroy(); await p.stop(); await app.close(); });

  const replies = Array.from({ length: 5 }, () => new Promise<string>((resolve) => {
    const r = victim.request({ ':path': '/work' });
    let status = 0;
    let body = '';
    r.on('response', (h) => { status = Number(h[':status']); });
    r.setEncoding('utf8').on('data', (d: string) => { body += d; });
    r.on('error', () => {});
    r.on('close', () => resolve(`${status || `reset ${r.rstCode}`} ${body}`));
    r.end();
  }));
  await eventually(() => held.length === 5, 'the app holds the other client\'s 5 requests');

  const attacker = await H2Conn.connect(p.port);
  after(() => attacker.destroy());
  let id = 1;
  for (let batch = 0; batch < 20 && !attacker.isClosed; batch++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 100; i++, id += 2) frames.push(headers(id, requestFields({ path: '/attack' }), { endStream: true }), rstStream(id, ERROR.CANCEL));
    attacker.send(...frames);
    await new Promise((r) => setImmediate(r));
  }
  const goaway = await attacker.goaway();
  assert.equal(goaway.code, ERROR.ENHANCE_YOUR_CALM);
  await attacker.closed;
  assert.ok(app.attackStreams() <= 200, `the app saw ${app.attackStreams()} of the attacker's streams (at most --h2-max-resets + --h2-max-concurrent-streams)`);

  release.resolve();
  assert.deepEqual(await Promise.all(replies), Array(5).fill('200 fine'));
});

test('resets one at a time, each after the app got the stream: GOAWAY ENHANCE_YOUR_CALM after --h2-max-resets', async () => {
  const app = await guardedApp(() => {});
  const p = await startProxy(['--app-port', String(app.port), '--h2-max-resets', '10']);
  const c = await H2Conn.connect(p.port);
  after(async () => { c.destroy(); await p.stop(); await app.close(); });
  for (let i = 0, id = 1; i < 30 && !c.isClosed; i++, id += 2) {
    c.send(headers(id, requestFields({ path: '/attack' }), { endStream: true }));
    const seen = i + 1;
    await eventually(() => app.attackStreams() >= seen || c.isClosed, `the app got stream ${id}`);
    c.send(rstStream(id, ERROR.CANCEL));
  }
  assert.equal((await c.goaway()).code, ERROR.ENHANCE_YOUR_CALM);
  assert.equal(app.attackStreams(), 11, 'the 11th reset (one past the bound) closes the connection');
});
