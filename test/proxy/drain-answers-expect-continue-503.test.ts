import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, deferred, rawConnect, parseResponses, state, eventually } from './harness.js';

// An Expect: 100-continue request that arrives on an open connection while draining is a new
// request like any other: it gets the fast 503 + Connection: close, and no 100 first, so the client
// never sends its body into a connection that is about to close, and may retry it elsewhere.
test('draining: Expect: 100-continue on an open connection gets 503 + Connection: close, no 100, and never reaches the app', async () => {
  const seen: string[] = [];
  const slowSeen = deferred();
  const release = deferred();
  // The app's node:http answers Expect with its own 100 (no checkContinue listener).
  const app = await startApp(async (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/slow') { slowSeen.resolve(); await release.promise; }
    req.resume().on('end', () => res.end(`ok ${req.url}`));
  });
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '10']);
  after(async () => { release.resolve(); await p.stop(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.write('GET /slow HTTP/1.1\r\nHost: t\r\n\r\n');
  await slowSeen.promise; // the connection is busy, so draining does not close it
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'draining', 'draining');
  c.socket.write('PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 2, 'the proxy read the PUT');
  release.resolve();

  const responses = parseResponses(await c.closed);
  assert.deepEqual(responses.map((r) => r.status), [200, 503], 'the in-flight request finished, then the 503; no 100 Continue');
  assert.equal(responses[0]!.body, 'ok /slow');
  const refused = responses[1]!;
  assert.equal(refused.headers['ebb-proxy-error'], 'shutting_down');
  assert.equal(refused.headers.connection, 'close');
  assert.deepEqual(seen, ['GET /slow'], 'the refused request never reached the app');
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.drainEndedBy, 'idle');
});
