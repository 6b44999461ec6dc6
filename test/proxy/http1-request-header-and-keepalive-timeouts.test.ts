import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, rawConnect, state, eventually } from './harness.js';
import { loadProxyConfig } from '../../src/config/proxy.js';

// Slowloris: a client that sends its request head one byte at a time never completes it. The
// proxy's internal HTTP server is never listen()ed, so node's own head timer did not run and such
// connections stayed open for ever. Now the head has --request-header-timeout (408, closed), and
// an idle keep-alive connection --keepalive-timeout.
test('a trickled request head gets 408 and is closed; an idle keep-alive connection is closed', async () => {
  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port), '--request-header-timeout', '0.5'], { EBB_KEEPALIVE_TIMEOUT: '0.5' });
  after(async () => { await p.stop(); await app.close(); });

  const slow = await rawConnect(p.port);
  let closed = false;
  void slow.closed.then(() => { closed = true; });
  const head = 'GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'a'.repeat(200);
  for (let i = 0; i < head.length && !closed; i++) {
    slow.socket.write(head[i]!);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(closed, 'the proxy closed the connection before the trickled head was done');
  assert.match(await slow.closed, /^HTTP\/1\.1 408 /);

  // A client stalled after a method's first letters is HTTP (after detection's 3 s), not TCP.
  const stalled = await rawConnect(p.port);
  stalled.socket.write('GE');
  assert.match(await stalled.closed, /^HTTP\/1\.1 408 /);

  // Both clients have gone: the proxy reads their FIN and lets go of the connections (it kept
  // the fd and its drain handle of every connection it had answered 408, since it read no more).
  const connections = async (): Promise<Record<string, number>> => {
    const { listener: _listener, ...rest } = ((await state(p.admin)).inFlight as { handles: Record<string, number> }).handles;
    return rest;
  };
  await eventually(async () => Object.keys(await connections()).length === 0, 'the 408-answered connections released')
    .catch(async (e: Error) => { throw new Error(`${e.message}: /state still holds ${JSON.stringify(await connections())}`); });

  const idle = await rawConnect(p.port);
  idle.socket.write('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
  assert.match(await idle.closed, /^HTTP\/1\.1 200 [^]*ok$/, 'answered, then closed once idle');
});

test('the timeouts default to HAProxy\'s 10 s and read EBB_ variables', () => {
  const d = loadProxyConfig({}, { EBB_APP_PORT: '8080' }).http1;
  assert.equal(d.requestHeaderTimeoutSeconds, 10);
  assert.equal(d.keepAliveTimeoutSeconds, 10);
  const e = loadProxyConfig({}, { EBB_APP_PORT: '8080', EBB_REQUEST_HEADER_TIMEOUT: '3', EBB_KEEPALIVE_TIMEOUT: '4', EBB_MAX_PIPELINED: '2', EBB_MAX_APP_CONNECTIONS_PER_CLIENT: '3', EBB_MAX_HEADER_COUNT: '7', EBB_MAX_HEADER_BYTES: '9000', EBB_MAX_HEADER_LINE_BYTES: '900' }).http1;
  assert.deepEqual({ ...e }, { requestHeaderTimeoutSeconds: 3, keepAliveTimeoutSeconds: 4, maxPipelined: 2, maxAppConnectionsPerClient: 3, maxHeaderCount: 7, maxHeaderBytes: 9000, maxHeaderLineBytes: 900 });
  assert.throws(() => loadProxyConfig({}, { EBB_APP_PORT: '8080', EBB_MAX_PIPELINED: '0', EBB_MAX_HEADER_COUNT: 'x' }), /EBB_MAX_HEADER_COUNT[^]*EBB_MAX_PIPELINED/);
});
