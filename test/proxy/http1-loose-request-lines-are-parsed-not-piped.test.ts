import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, parseResponses } from './harness.js';
import { startRecordingApp, sendRaw } from './h1-raw.js';

// A request line after an empty line, with a lowercase method or with a tab is still HTTP: the
// proxy's parser answers it. Piped to the app as opaque TCP, the bytes behind it (a CL.TE
// smuggling pair here) would reach the app verbatim and the connection would hold the drain.
test('leading empty lines, lowercase methods and tabs are HTTP/1, never piped as TCP', async () => {
  const app = await startRecordingApp();
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '5']);
  after(async () => { await p.stop(); await app.close(); });

  // RFC 9112 §2.2: empty lines before the request line are ignored; the app gets a clean request.
  const crlf = await sendRaw(p.port, '\r\n\r\nGET /after-empty-lines HTTP/1.1\r\nHost: t\r\n\r\n', (r) => r.includes('ok /'));
  assert.equal(parseResponses(crlf.received())[0]?.status, 200);
  assert.match(app.received(), /^GET \/after-empty-lines HTTP\/1\.1\r\n/, 'the proxy re-sent the request; the empty lines did not reach the app');

  const smuggle = 'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG';
  for (const bytes of [
    'get /lower HTTP/1.1\r\nHost: t\r\n\r\n',
    'GET\t/tab HTTP/1.1\r\nHost: t\r\n\r\n',
    `\r\nPOST /clte HTTP/1.1\r\nHost: t\r\n${smuggle}`,
    `post /clte HTTP/1.1\r\nHost: t\r\n${smuggle}`,
  ]) {
    const c = await sendRaw(p.port, bytes, () => false);
    assert.match(c.received(), /^HTTP\/1\.1 400 /, `${JSON.stringify(bytes)} gets 400 from the proxy`);
  }
  assert.deepEqual(app.requests().map((h) => h.split('\r\n')[0]), ['GET /after-empty-lines HTTP/1.1'], 'nothing else reached the app');

  // The keep-alive connection from the first request is idle HTTP/1: draining closes it at once.
  const s = (await (await fetch(`http://127.0.0.1:${p.admin}/state`)).json()) as { inFlight: { handles: Record<string, number> } };
  assert.equal(s.inFlight.handles['inbound:http1'], 1);
  assert.equal(s.inFlight.handles['inbound:tcp'], undefined);
  p.signal('SIGTERM');
  assert.equal((await p.exited).code, 0);
  assert.equal(p.logs.find((l) => l.msg === 'shutdown complete')?.drainEndedBy, 'idle');
  crlf.socket.destroy();
});
