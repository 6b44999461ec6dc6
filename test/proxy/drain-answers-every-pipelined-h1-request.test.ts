import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, deferred, rawConnect, parseResponses, state, eventually, type App } from './harness.js';

// Nothing the proxy has read from a client may vanish: every request already received on an
// HTTP/1 connection gets exactly one response, in order, and only the last one says
// Connection: close. Requests are pipelined by hand on a raw socket, in one write; where the app
// must hold them all at once, the proxy forwards three at a time (--max-app-connections-per-client).
const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

/** An app that holds /slow until it has seen `holdUntil` requests in all. */
async function slowApp(holdUntil: number): Promise<{ app: App; seen: string[]; slowSeen: Promise<void>; release: () => void }> {
  const seen: string[] = [];
  const slowSeen = deferred();
  const release = deferred();
  const allSeen = deferred();
  const app = await startApp(async (req, res) => {
    seen.push(req.url!);
    if (seen.length >= holdUntil) allSeen.resolve();
    if (req.url === '/slow') {
      slowSeen.resolve();
      await Promise.all([release.promise, allSeen.promise]);
    }
    res.end(`body of ${req.url}`);
  });
  return { app, seen, slowSeen: slowSeen.promise, release: () => release.resolve() };
}

test('waiting: three pipelined requests are all served; only the last response says Connection: close', async () => {
  const { app, seen, release } = await slowApp(3);
  const p = await startProxy(['--app-port', String(app.port), '--wait-before-exit', '60', '--max-app-connections-per-client', '3']);
  after(async () => { release(); await p.stop(); await app.close(); });

  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started', 'shutdown started');
  const c = await rawConnect(p.port); // accepted as usual while waiting
  c.socket.write(GET('/slow') + GET('/a') + GET('/b'));
  release();

  const responses = parseResponses(await c.closed);
  assert.deepEqual(responses.map((r) => `${r.status} ${r.body}`), ['200 body of /slow', '200 body of /a', '200 body of /b']);
  assert.deepEqual(responses.map((r) => r.headers.connection), ['keep-alive', 'keep-alive', 'close']);
  assert.deepEqual([...seen].sort(), ['/a', '/b', '/slow'], 'each request reached the app exactly once');
});

test('draining: pipelined requests behind an in-flight one each get a 503; only the last says Connection: close', async () => {
  const { app, seen, slowSeen, release } = await slowApp(1);
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '20']);
  after(async () => { release(); await p.stop(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.write(GET('/slow'));
  await slowSeen; // busy, so draining does not close the connection
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'draining', 'draining');
  c.socket.write(GET('/a') + GET('/b'));
  await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 3, 'the proxy read both pipelined requests');
  release();

  const responses = parseResponses(await c.closed);
  assert.deepEqual(responses.map((r) => r.status), [200, 503, 503], 'one response per request, in order');
  assert.equal(responses[0]!.body, 'body of /slow');
  assert.deepEqual(responses.slice(1).map((r) => r.headers['ebb-proxy-error']), ['shutting_down', 'shutting_down']);
  assert.deepEqual(responses.map((r) => r.headers.connection), ['keep-alive', 'keep-alive', 'close']);
  assert.deepEqual(seen, ['/slow'], 'the refused requests never reached the app');
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.drainEndedBy, 'idle');
  assert.equal(summary.forcedCloses, 0);
});

test('running, then draining: requests pipelined before the trigger are all served before the connection closes', async () => {
  const { app, seen, slowSeen, release } = await slowApp(3);
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '20', '--max-app-connections-per-client', '3']);
  after(async () => { release(); await p.stop(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.write(GET('/slow') + GET('/a') + GET('/b'));
  await slowSeen;
  await eventually(() => seen.length === 3, 'the app saw all three');
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'draining', 'draining');
  release();

  const responses = parseResponses(await c.closed);
  assert.deepEqual(responses.map((r) => `${r.status} ${r.body}`), ['200 body of /slow', '200 body of /a', '200 body of /b']);
  assert.equal((await p.exited).code, 0);
});
