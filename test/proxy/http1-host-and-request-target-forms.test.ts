import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, parseResponses } from './harness.js';
import { startRecordingApp, sendRaw } from './h1-raw.js';

// Host and the request target, as the stricter of HAProxy and nginx treats them: Host is never a
// hop-by-hop field, an absolute-form target becomes origin-form (or 400 when it names another
// authority than Host), a fragment or a second Host is 400, and `OPTIONS *` reaches the app.
test('Host survives Connection, target forms are normalised or refused, OPTIONS * is forwarded', async () => {
  const app = await startRecordingApp();
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });
  const answer = async (bytes: string): Promise<{ status: number | undefined; head: string | undefined }> => {
    const before = app.requests().length;
    const c = await sendRaw(p.port, bytes, (r) => r.includes('\r\n\r\n') && /Content-Length: (\d+)/i.test(r) && parseOk(r));
    c.socket.destroy();
    return { status: parseResponses(c.received())[0]?.status, head: app.requests()[before] };
  };

  const named = await answer('GET /a HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, host\r\n\r\n');
  assert.equal(named.status, 200);
  assert.match(named.head!, /\r\nhost: t(\r\n|$)/i, 'the app sees the client\'s Host, not the proxy\'s address');

  const same = await answer('GET http://t/a?q=1 HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.equal(same.status, 200);
  assert.match(same.head!, /^GET \/a\?q=1 HTTP\/1\.1\r\n/, 'absolute-form with the same authority as Host is sent on in origin-form');

  const star = await answer('OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.equal(star.status, 200);
  assert.match(star.head!, /^OPTIONS \* HTTP\/1\.1\r\n/);

  for (const bytes of [
    'GET http://other/a HTTP/1.1\r\nHost: t\r\n\r\n',
    'GET /a#frag HTTP/1.1\r\nHost: t\r\n\r\n',
    'GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'GET * HTTP/1.1\r\nHost: t\r\n\r\n',
  ]) {
    const r = await answer(bytes);
    assert.equal(r.status, 400, JSON.stringify(bytes));
    assert.equal(r.head, undefined, `${JSON.stringify(bytes)} never reaches the app`);
  }
});

function parseOk(r: string): boolean {
  try { return parseResponses(r).length > 0; } catch { return false; }
}
