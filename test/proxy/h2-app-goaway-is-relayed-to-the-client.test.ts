import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startH2App, startProxy } from './harness.js';

// The app's own drain on HTTP/2 is a GOAWAY on its session with the proxy. The proxy used to open
// a new session and hide it, so the client kept reusing its connection to an app that was leaving
// (istio#57357). Now the client connection whose streams went to that app session gets GOAWAY,
// after the stream in flight has finished.
test('an app GOAWAY makes the proxy GOAWAY that client connection, after its stream in flight finishes', async () => {
  const app = await startH2App((stream, h) => {
    stream.on('error', () => {});
    if (h[':path'] === '/leave') {
      // Leaving: GOAWAY on this session (its drain), then answer the stream in flight a moment later.
      stream.session!.close();
      setTimeout(() => { stream.respond({ ':status': 200 }); stream.end('bye'); }, 300);
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  after(() => session.destroy());
  session.on('error', () => {});
  let goaways = 0;
  session.on('goaway', () => { goaways++; });
  const get = (path: string): Promise<string> => new Promise((resolve, reject) => {
    const s = session.request({ ':path': path });
    let b = '';
    s.setEncoding('utf8').on('data', (d: string) => { b += d; });
    s.on('end', () => resolve(b));
    s.on('error', reject);
    s.end();
  });
  assert.equal(await get('/'), 'ok');
  assert.equal(goaways, 0, 'no GOAWAY while the app stays');
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  assert.equal(await get('/leave'), 'bye', 'the stream in flight at the app\'s GOAWAY finishes');
  assert.equal(await within(goaway, 'a GOAWAY'), http2.constants.NGHTTP2_NO_ERROR, 'the client is told to leave');
  await new Promise<void>((resolve) => { if (session.closed) resolve(); else session.once('close', () => resolve()); });
});

/** Bounded: rejects after 10 s with what was awaited. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
