/**
 * ebb init + ebb proxy --transparent in real network namespaces: a "pod" (app, proxy running as the
 * proxy uid, ebb init's rules) joined by a veth pair to a "remote" host with a server.
 *
 * Inside these private namespaces the proxy uses its default ports (4143/4140/4191): nothing else
 * can bind there, and using the defaults in both `ebb init` and `ebb proxy` is part of what is tested.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Namespaces, netnsUnavailableReason, type Captured } from './netns.js';
import { EBB_BIN } from '../helpers.js';
import { ADDON_PATH } from '../../src/native/original-dst.js';

const skip = netnsUnavailableReason() ?? (existsSync(ADDON_PATH) ? undefined : `the native addon was not built (${ADDON_PATH})`);
const ns = new Namespaces();
after(() => ns.cleanup());

const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));
const PROXY_UID = 2102;
const APP_PORT = 8080;

interface Pod {
  pod: string;
  remote: string;
  podAddr: string;
  remoteAddr: string;
  podAddr6: string;
  remoteAddr6: string;
  app: Captured;
  proxy: Captured;
}

function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  return (async () => {
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
}

function logLines(p: Captured): Array<Record<string, unknown>> {
  return p.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function agentGet(nsName: string, url: string): Promise<{ status?: number; body?: string; error?: string }> {
  const r = await ns.run(nsName, process.execPath, [AGENT, 'get', url]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { status?: number; body?: string; error?: string };
}

/** ebb_requests_total / ebb_connections_total for one direction, summed over the other labels. */
async function counts(pod: string, direction: 'inbound' | 'outbound'): Promise<{ requests: number; connections: number }> {
  const r = await agentGet(pod, 'http://127.0.0.1:4191/metrics');
  assert.equal(r.status, 200, JSON.stringify(r));
  const sum = (name: string): number => r.body!.split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(`direction="${direction}"`))
    .reduce((acc, l) => acc + Number(l.split(' ').at(-1)), 0);
  return { requests: sum('ebb_requests_total'), connections: sum('ebb_connections_total') };
}

/** Two namespaces, a remote server, ebb init, the app and the proxy (as the proxy uid). */
async function startPod(subnet: number, appEnv: NodeJS.ProcessEnv = {}): Promise<Pod> {
  const pod = ns.create(`pod${subnet}`);
  const remote = ns.create(`rem${subnet}`);
  const podAddr = `198.18.${subnet}.1`;
  const remoteAddr = `198.18.${subnet}.2`;
  ns.link(pod, podAddr, remote, remoteAddr);
  // IPv6 too (unique local addresses, also only inside these namespaces); nodad: usable at once.
  const podAddr6 = `fd00:ebb:${subnet.toString(16)}::1`;
  const remoteAddr6 = `fd00:ebb:${subnet.toString(16)}::2`;
  for (const [n, a] of [[pod, podAddr6], [remote, remoteAddr6]] as const) {
    const r = await ns.run(n, 'ip', ['addr', 'add', `${a}/64`, 'dev', 'eth0', 'nodad']);
    assert.equal(r.code, 0, r.stderr);
  }

  const server = ns.spawn(remote, process.execPath, [AGENT, 'server', '80', 'remote']);
  await waitFor('the remote server', () => (server.stdout().includes('ready') ? true : undefined));

  const init = await ns.ebb(pod, ['init']);
  assert.equal(init.code, 0, init.stderr);

  const app = ns.spawn(pod, process.execPath, [AGENT, 'app', String(APP_PORT), `http://${remoteAddr}:80/from-app`],
    { env: { REMOTE6_URL: `http://[${remoteAddr6}]:80/from-app6`, ...appEnv } });
  await waitFor('the app', () => (app.stdout().includes('"ready":true') ? true : undefined));

  const proxy = ns.spawn(pod, process.execPath, [EBB_BIN, 'proxy', '--transparent', '--drain-timeout', '60'],
    { uid: PROXY_UID, env: { EBB_SIDECAR_MODE: 'classic' } });
  await waitFor('the proxy\'s listening line', () => {
    if (proxy.child.exitCode !== null) throw new Error(`proxy exited early: ${proxy.stderr()}`);
    return logLines(proxy).find((l) => l.msg === 'listening');
  });
  return { pod, remote, podAddr, remoteAddr, podAddr6, remoteAddr6, app, proxy };
}

test('transparent interception in a pod namespace: inbound, outbound, no loop', { skip }, async (t) => {
  const p = await startPod(10 + (process.pid % 100));
  const listening = logLines(p.proxy).find((l) => l.msg === 'listening')!;
  assert.deepEqual({ inbound: listening.inbound, outbound: listening.outbound, admin: listening.admin },
    { inbound: [{ port: 4143, appPort: 0 }], outbound: 4140, admin: 4191 });

  await t.test('a client in the remote namespace reaching the app port is served through the proxy', async () => {
    const r = await agentGet(p.remote, `http://${p.podAddr}:${APP_PORT}/hello`);
    assert.equal(r.status, 200, JSON.stringify(r));
    // The app sees the proxy (on loopback), not the remote client: the connection went through it.
    assert.deepEqual(JSON.parse(r.body!), { app: 'ok', peer: '127.0.0.1' });
    assert.deepEqual(await counts(p.pod, 'inbound'), { requests: 1, connections: 1 });
  });

  await t.test('the app\'s call to the remote server goes through the outbound listener, exactly once', async () => {
    const r = await agentGet(p.remote, `http://${p.podAddr}:${APP_PORT}/call`);
    assert.equal(r.status, 200, JSON.stringify(r));
    const body = JSON.parse(r.body!) as { app: string; remote: { server: string; peer: string; path: string } };
    assert.deepEqual(body, { app: 'called', remote: { server: 'remote', peer: p.podAddr, path: '/from-app' } });
    // One outbound connection and request: the proxy's own upstream connection to the remote server
    // (made as the proxy uid) was not redirected back into the outbound listener. A loop would show
    // here as more connections, or as the call never completing.
    assert.deepEqual(await counts(p.pod, 'outbound'), { requests: 1, connections: 1 });
    assert.deepEqual(await counts(p.pod, 'inbound'), { requests: 2, connections: 2 });
  });

  await t.test('the proxy\'s own connection to the app is not looped into the inbound listener', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await agentGet(p.remote, `http://${p.podAddr}:${APP_PORT}/hello`)).status, 200);
    assert.deepEqual(await counts(p.pod, 'inbound'), { requests: 5, connections: 5 });
    assert.deepEqual(await counts(p.pod, 'outbound'), { requests: 1, connections: 1 });
  });

  await t.test('the admin port is not redirected: the kubelet can probe it from outside', async () => {
    const r = await agentGet(p.remote, `http://${p.podAddr}:4191/live`);
    assert.equal(r.status, 200, JSON.stringify(r));
  });

  await t.test('a server-speaks-first service on a well-known port (MySQL\'s 3306) is piped as TCP at once, without detection', async () => {
    const greeter = ns.spawn(p.pod, process.execPath, [AGENT, 'greeter', '3306']);
    await waitFor('the greeter', () => (greeter.stdout().includes('ready') ? true : undefined));
    const r = await ns.run(p.remote, process.execPath, [AGENT, 'first-line', p.podAddr, '3306']);
    assert.deepEqual(JSON.parse(r.stdout), { line: 'greeting from the server' });
    // Through the proxy, as opaque TCP from the start (detection would have labelled it "tcp").
    const m = await agentGet(p.pod, 'http://127.0.0.1:4191/metrics');
    const line = m.body!.split('\n').find((l) => l.startsWith('ebb_connections_total{') && l.includes('direction="inbound"') && l.includes('protocol="tcp-opaque"'));
    assert.equal(line?.split(' ').at(-1), '1', m.body!.split('\n').filter((l) => l.startsWith('ebb_connections_total')).join('\n'));
    greeter.child.kill('SIGKILL');
  });

  await t.test('an outbound call to a closed port gets the proxy\'s error mapping: 502 upstream_refused', async () => {
    const before = await counts(p.pod, 'outbound');
    const r = await agentGet(p.remote, `http://${p.podAddr}:${APP_PORT}/fetch?url=${encodeURIComponent(`http://${p.remoteAddr}:81/`)}`);
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.deepEqual(JSON.parse(r.body!), { status: 502, proxyError: 'upstream_refused' });
    assert.deepEqual(await counts(p.pod, 'outbound'), { requests: before.requests + 1, connections: before.connections + 1 });
  });

  await t.test('IPv6: inbound to the pod\'s IPv6 address and the app\'s call to an IPv6 server go through the proxy', async () => {
    const before = { inbound: await counts(p.pod, 'inbound'), outbound: await counts(p.pod, 'outbound') };
    const hello = await agentGet(p.remote, `http://[${p.podAddr6}]:${APP_PORT}/hello`);
    assert.equal(hello.status, 200, JSON.stringify(hello));
    assert.deepEqual(JSON.parse(hello.body!), { app: 'ok', peer: '127.0.0.1' });
    const call = await agentGet(p.remote, `http://${p.podAddr}:${APP_PORT}/call6`);
    assert.equal(call.status, 200, JSON.stringify(call));
    assert.deepEqual(JSON.parse(call.body!), { app: 'called', remote: { server: 'remote', peer: p.podAddr6, path: '/from-app6' } });
    assert.deepEqual(await counts(p.pod, 'inbound'),
      { requests: before.inbound.requests + 2, connections: before.inbound.connections + 2 });
    assert.deepEqual(await counts(p.pod, 'outbound'),
      { requests: before.outbound.requests + 1, connections: before.outbound.connections + 1 });
  });
});

test('during the proxy\'s drain the app\'s new outbound calls still succeed until the app exits', { skip }, async () => {
  const p = await startPod(110 + (process.pid % 100), { CALL_EVERY_MS: '100' });
  const calls = (): Array<{ t: number; ok: boolean; status?: number; err?: string }> =>
    p.app.stdout().split('\n').filter((l) => l.startsWith('{"t"')).map((l) => JSON.parse(l) as { t: number; ok: boolean });
  await waitFor('the app\'s first outbound calls', () => (calls().filter((c) => c.ok).length >= 3 ? true : undefined));

  // Classic mode: the proxy gets TERM while the app keeps running and calling out.
  const termAt = Date.now();
  p.proxy.child.kill('SIGTERM');
  await waitFor('5 app calls started after TERM', () => (calls().filter((c) => c.t > termAt).length >= 5 ? true : undefined));
  assert.equal(p.proxy.child.exitCode, null, 'the proxy must still run while the app does');

  const appExitAt = Date.now();
  p.app.child.kill('SIGTERM');
  await p.app.exited;
  const { code } = await p.proxy.exited;
  assert.equal(code, 0, p.proxy.stderr());

  const afterTerm = calls().filter((c) => c.t > termAt);
  assert.ok(afterTerm.length >= 5);
  assert.deepEqual(afterTerm.filter((c) => !c.ok), [], 'every outbound call after TERM succeeded');
  const logs = logLines(p.proxy);
  const closing = logs.find((l) => l.msg === 'outbound closing');
  assert.match(String(closing?.reason), /app gone/);
  assert.ok((closing!.time as number) >= appExitAt, 'outbound closed only after the app exited');
  assert.ok(logs.some((l) => l.msg === 'shutdown complete'));
});
