import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http2 from 'node:http2';
import { startH2App, startProxy, state, eventually } from './harness.js';
import { H2Conn, headers, requestFields } from './h2-frames.js';

const run = promisify(execFile);

// A client that closes its HTTP/2 connection with a plain FIN (curl --http2-prior-knowledge does,
// after its response; any client that exits does, with streams still open) is gone: it can send
// no WINDOW_UPDATE, no acknowledgement, no further frame. The proxy closes the connection and
// resets the client's streams to the app, so nothing of it stays in flight or holds the drain.

type InFlight = { requests: number; handles: Record<string, number> };
const inFlight = async (admin: number): Promise<InFlight> => (await state(admin)).inFlight as InFlight;

test('h2 client FIN: curl\'s connection is closed, raw FIN with a stream open resets it to the app, TERM drains idle', async () => {
  const appStreams = new Set<http2.ServerHttp2Stream>();
  const appResets: number[] = [];
  const app = await startH2App((stream, h) => {
    stream.on('error', () => {});
    if (h[':path'] === '/hold') { // never answers: only the client's going away ends it
      appStreams.add(stream);
      stream.on('close', () => { appStreams.delete(stream); appResets.push(stream.rstCode); });
      return;
    }
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '60']);
  after(async () => { await p.stop(); await app.close(); });

  // curl: one request, then FIN.
  const { stdout } = await run('curl', ['-sS', '--http2-prior-knowledge', '--max-time', '10', `http://127.0.0.1:${p.port}/`]);
  assert.equal(stdout, 'ok');
  await eventually(async () => !(await inFlight(p.admin)).handles['inbound:http2'], 'curl\'s connection released');

  // Raw: a request the app holds, then FIN.
  const c = await H2Conn.connect(p.port);
  after(() => c.destroy());
  c.send(headers(1, requestFields({ path: '/hold' }), { endStream: true }));
  await eventually(() => appStreams.size === 1, 'the app got the stream');
  assert.equal((await inFlight(p.admin)).requests, 1);
  c.end();
  await c.closed; // the proxy closed its side too: no CLOSE_WAIT
  await eventually(() => appStreams.size === 0, 'the app\'s stream closed');
  assert.equal(appResets[0], http2.constants.NGHTTP2_CANCEL, 'the app sees the stream cancelled');
  await eventually(async () => {
    const f = await inFlight(p.admin);
    return f.requests === 0 && !f.handles['inbound:http2'];
  }, 'nothing in flight');

  p.signal('SIGTERM');
  assert.equal((await p.exited).code, 0);
  assert.equal(p.logs.find((l) => l.msg === 'shutdown complete')?.drainEndedBy, 'idle');
});
