import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, rawConnect, parseResponses, state, eventually, deferred } from './harness.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;

// 500 pipelined requests on one client connection used to open up to 500 app connections at
// once (the pool had no cap per client). HAProxy and nginx forward them one at a time, and so
// does the proxy by default (--max-app-connections-per-client 1).
test('pipelined requests reach the app one at a time on one connection, answered in order', async () => {
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const app = await startApp((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setImmediate(() => { inFlight--; res.end(req.url); });
  }, (s) => s.on('connection', () => { connections++; }));
  const p = await startProxy(['--app-port', String(app.port)]);
  const four = await startProxy(['--app-port', String(app.port), '--max-app-connections-per-client', '4']);
  after(async () => { await p.stop(); await four.stop(); await app.close(); });

  const n = 200;
  const c = await rawConnect(p.port);
  c.socket.write(Array.from({ length: n }, (_, i) => GET(`/r${i}`)).join(''));
  await eventually(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === n, `${n} answers`);
  assert.deepEqual(parseResponses(c.received()).map((r) => r.body), Array.from({ length: n }, (_, i) => `/r${i}`));
  assert.equal(maxInFlight, 1);
  assert.equal(connections, 1);
  c.socket.destroy();

  maxInFlight = 0;
  const c4 = await rawConnect(four.port);
  c4.socket.write(Array.from({ length: n }, (_, i) => GET(`/r${i}`)).join(''));
  await eventually(() => (c4.received().match(/HTTP\/1\.1 200/g) ?? []).length === n, `${n} answers`);
  assert.deepEqual(parseResponses(c4.received()).map((r) => r.body), Array.from({ length: n }, (_, i) => `/r${i}`));
  assert.ok(maxInFlight <= 4, `at most 4 at the app at once (saw ${maxInFlight})`);
  c4.socket.destroy();
});

// --max-pipelined: requests read and not answered. At the limit the proxy stops reading, so a
// client that keeps pipelining behind a slow response is held back by TCP, not queued in memory.
test('at --max-pipelined unanswered requests the proxy stops reading from the connection', async () => {
  const release = deferred();
  const app = await startApp(async (req, res) => {
    if (req.url === '/slow') await release.promise;
    res.end(req.url);
  });
  const p = await startProxy(['--app-port', String(app.port), '--max-pipelined', '2']);
  after(async () => { release.resolve(); await p.stop(); await app.close(); });
  const requests = async (): Promise<number> => ((await state(p.admin)).inFlight as { requests: number }).requests;

  const c = await rawConnect(p.port);
  c.socket.write(GET('/slow'));
  await eventually(async () => (await requests()) === 1, 'the slow request is in flight');
  c.socket.write(GET('/second'));
  await eventually(async () => (await requests()) === 2, 'the second one is read');
  for (let i = 0; i < 10; i++) c.socket.write(GET(`/more${i}`));
  // Give the proxy every chance to read them: a /state round trip each, a few times over.
  for (let i = 0; i < 5; i++) assert.equal(await requests(), 2, 'no further request read while two are unanswered');
  release.resolve();
  await eventually(() => (c.received().match(/HTTP\/1\.1 200/g) ?? []).length === 12, 'every request answered');
  assert.deepEqual(parseResponses(c.received()).map((r) => r.body), ['/slow', '/second', ...Array.from({ length: 10 }, (_, i) => `/more${i}`)]);
  c.socket.destroy();
});
