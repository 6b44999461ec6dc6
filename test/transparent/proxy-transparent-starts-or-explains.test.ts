import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { runEbb } from '../helpers.js';
import { startProxy, type ProxyProcess } from '../proxy/harness.js';
import { ADDON_PATH } from '../../src/native/original-dst.js';
import { waitForAppGone } from '../../src/proxy/app-gone.js';

const running: ProxyProcess[] = [];
after(async () => { for (const p of running) await p.stop(); });

test('--transparent without the native addon fails at start, saying why and how to build it', async () => {
  const r = await runEbb(['proxy', '--transparent', '--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0'],
    { env: { EBB_NATIVE_ADDON: '/nonexistent/ebb_native.node' } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /--transparent needs ebb's native addon \/nonexistent\/ebb_native.node/);
  assert.match(r.stderr, /SO_ORIGINAL_DST/);
  assert.match(r.stderr, /npm rebuild/);
  assert.doesNotMatch(r.stderr, /"msg":"listening"/);
});

test('--transparent needs no --app-port; an outbound port that clashes is a config error (exit 64)', async () => {
  const r = await runEbb(['proxy', '--transparent', '--inbound-port', '5000', '--outbound-port', '5000', '--admin-port', '0']);
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, /--outbound-port 5000 is also the inbound or admin port/);
  assert.doesNotMatch(r.stderr, /no app to forward to/);
});

test('--transparent reports the outbound port in the listening line and warns when not running as the proxy uid', {
  skip: existsSync(ADDON_PATH) ? false : `the native addon was not built (${ADDON_PATH})`,
}, async () => {
  const p = await startProxy(['--transparent', '--outbound-port', '0', '--sidecar-mode', 'native', '--proxy-uid', '54321']);
  running.push(p);
  const listening = p.logs.find((l) => l.msg === 'listening')!;
  assert.equal(typeof listening.outbound, 'number');
  assert.ok((listening.outbound as number) > 0);
  assert.deepEqual((listening.inbound as Array<{ appPort: number }>).map((i) => i.appPort), [0]);
  assert.ok(p.logs.some((l) => l.level === 40 && /not --proxy-uid 54321/.test(String(l.msg))));
  // The signal handlers are installed just after the listening line; an answered admin request
  // means the process is past that point, so TERM cannot hit the default (kill) action.
  assert.equal((await fetch(`http://127.0.0.1:${p.admin}/live`)).status, 200);
  // Native mode: TERM means the app is gone, so the outbound listener closes with the inbound one.
  p.signal('SIGTERM');
  const { code } = await p.exited;
  assert.equal(code, 0);
  assert.ok(p.logs.some((l) => l.msg === 'outbound closing' && /native mode/.test(String(l.reason))));
});

test('the app counts as gone once its port refuses connections for the settle time, not before', async () => {
  const app = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => app.once('listening', r));
  const port = (app.address() as net.AddressInfo).port;
  const ac = new AbortController();
  let gone = false;
  const watching = waitForAppGone({ ports: () => [port], settleMs: 300, intervalMs: 50, signal: ac.signal }).then((r) => { gone = true; return r; });
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(gone, false, 'still listening: not gone');
  app.close();
  assert.equal(await watching, 'app-gone');
});

test('an app whose ports refuse is not gone while it still has inbound requests in flight', async () => {
  // A port nothing listens on: the app closed its listener at TERM, as many do first thing.
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  // Busy for the first 30 probes (it finishes its last requests), idle after: gone only then.
  let probes = 0;
  const ac = new AbortController();
  const r = await waitForAppGone({ ports: () => [port], settleMs: 50, intervalMs: 5, signal: ac.signal, busy: () => ++probes <= 30 });
  assert.equal(r, 'app-gone');
  assert.ok(probes > 30, `decided at probe ${probes}, while requests were still in flight`);
});

test('with no app port known the watch never decides; it ends when aborted', async () => {
  const ac = new AbortController();
  const watching = waitForAppGone({ ports: () => [], settleMs: 10, intervalMs: 10, signal: ac.signal });
  setTimeout(() => ac.abort(), 200);
  assert.equal(await watching, 'aborted');
});
