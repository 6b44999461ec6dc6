import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb, startEbb } from '../helpers.js';
import { freePort, request, startApp, startProxy, type App, type ProxyProcess } from '../proxy/harness.js';
import { waitForOutput } from './support.js';

const proxies: ProxyProcess[] = [];
let app: App;
after(async () => { for (const p of proxies) await p.stop(); await app?.close(); });

async function proxy(args: string[] = []): Promise<ProxyProcess> {
  app ??= await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port), ...args]);
  proxies.push(p);
  return p;
}

test('real proxy: ebb await waits for a proxy that starts later, then runs the command', async () => {
  app ??= await startApp((_req, res) => res.end('ok'));
  const port = await freePort();
  const waiting = startEbb(['await', '--port', String(port), '--timeout', '2m', '--', process.execPath, '-e', 'console.log("command ran")']);
  const out = waitForOutput(waiting.stdout!, 'command ran');
  const code = new Promise((resolve) => waiting.on('exit', (c) => resolve(c)));
  try {
    // ebb await is polling a port nobody listens on yet; now the proxy takes that admin port.
    proxies.push(await startProxy(['--app-port', String(app.port), '--admin-port', String(port)]));
  } catch (err) {
    waiting.kill('SIGKILL');
    throw err;
  }
  await out;
  assert.equal(await code, 0);
});

test('real proxy: ebb await exits 69 while the proxy is shutting down (/ready 200 while waiting)', async () => {
  const p = await proxy(['--wait-before-exit', '600', '--drain-timeout', '600']);
  // The proxy installs its signal handlers just after the listening line; once its admin server
  // has answered, they are in place.
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200);
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'shutdown started', 'shutdown started');
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200, 'waiting: still serving');
  const r = await runEbb(['await', '--port', String(p.admin), '--timeout', '2s', '--', process.execPath, '-e', 'console.log("command ran")']);
  assert.equal(r.code, 69);
  assert.match(r.stderr, /last answer: HTTP 200 but the proxy is shutting down \(waiting\)/);
  assert.doesNotMatch(r.stdout, /command ran/);
});

test('real proxy: exit codes and signals of the command come through', async () => {
  const p = await proxy();
  const r = await runEbb(['await', '--port', String(p.admin), '--', process.execPath, '-e', 'process.exit(17)']);
  assert.equal(r.code, 17);
  const child = startEbb(['await', '--port', String(p.admin), '--', process.execPath, '-e',
    'process.on("SIGHUP", () => { console.log("got SIGHUP"); process.exit(3); }); console.log("started"); setInterval(() => {}, 1000);']);
  try {
    await waitForOutput(child.stdout!, 'started');
    child.kill('SIGHUP');
    assert.equal(await new Promise((resolve) => child.on('exit', (c) => resolve(c))), 3);
  } finally {
    child.kill('SIGKILL');
  }
  const killed = startEbb(['await', '--port', String(p.admin), '--', process.execPath, '-e', 'console.log("started"); setInterval(() => {}, 1000);']);
  try {
    await waitForOutput(killed.stdout!, 'started');
    killed.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => killed.on('exit', (c) => resolve(c))), 143);
  } finally {
    killed.kill('SIGKILL');
  }
});

test('real proxy without --shutdown-endpoint: the 404 is reported loudly, the exit code stays the command\'s, the proxy keeps running', async () => {
  const p = await proxy();
  const r = await runEbb(['await', '--port', String(p.admin), '--shutdown', '--', process.execPath, '-e', 'process.exit(0)']);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /ERROR: could not shut the proxy down: .*answered 404/);
  assert.equal((await request(p.admin, { path: '/ready' })).status, 200);
});

test('real proxy with --shutdown-endpoint: ebb await --shutdown makes it drain and exit 0, keeping the command\'s code', async () => {
  const p = await proxy(['--shutdown-endpoint']);
  const r = await runEbb(['await', '--port', String(p.admin), '--shutdown', '--', process.execPath, '-e', 'process.exit(2)']);
  assert.equal(r.code, 2);
  assert.doesNotMatch(r.stderr, /ERROR/);
  assert.equal((await p.exited).code, 0);
  assert.equal(p.logs.find((l) => l.msg === 'shutdown started')?.reason, 'POST /shutdown');
});

test('real proxy: EBB_AWAIT_DISABLED does not disable --shutdown', async () => {
  const p = await proxy(['--shutdown-endpoint']);
  const r = await runEbb(['await', '--port', String(p.admin), '--shutdown', '--', process.execPath, '-e', ''], { env: { EBB_AWAIT_DISABLED: '1' } });
  assert.equal(r.code, 0);
  assert.equal((await p.exited).code, 0);
});
