import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startH2App, startProxy, request } from './harness.js';

// A client that connects while the pod is terminating (its endpoints are not fresh yet) is served,
// then told to leave: never a GOAWAY before its first stream, which would make it reconnect to the
// same pod in a loop without a single answer.
test('while terminating, a new HTTP/2 session gets its stream answered, then GOAWAY NO_ERROR', async () => {
  const app = await startH2App((stream) => { stream.respond({ ':status': 200 }); stream.end('ok'); });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  assert.equal((await request(p.admin, { path: '/prestop?seconds=0' })).status, 200);

  const session = http2.connect(`http://127.0.0.1:${p.port}`);
  after(() => session.destroy());
  session.on('error', () => {});
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code) => resolve(code)));
  const body = await new Promise<string>((resolve, reject) => {
    const s = session.request({ ':path': '/' });
    let b = '';
    s.setEncoding('utf8').on('data', (d: string) => { b += d; });
    s.on('end', () => resolve(b));
    s.on('error', reject);
    s.end();
  });
  assert.equal(body, 'ok', 'its first stream is served');
  assert.equal(await within(goaway, 'a GOAWAY'), http2.constants.NGHTTP2_NO_ERROR, 'then it is told to leave');
  await new Promise<void>((resolve) => { if (session.closed) resolve(); else session.once('close', () => resolve()); });
});

/** Bounded: rejects after 10 s with what was awaited. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
