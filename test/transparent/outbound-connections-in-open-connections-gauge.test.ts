import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { AdminServer } from '../../src/admin/server.js';
import { ProxyMetrics } from '../../src/admin/metrics.js';
import { loadProxyConfig } from '../../src/config/proxy.js';
import { Drain, createWaitingStrategy } from '../../src/drain/index.js';
import { createLogger } from '../../src/log.js';
import { OutboundListener } from '../../src/proxy/transparent.js';
import { createProxyContext } from '../../src/proxy/context.js';
import { startApp, rawConnect, request, eventually, deferred } from '../proxy/harness.js';

/** The ebb_open_connections samples, as 'direction/protocol' → value. */
async function openConnections(admin: number): Promise<Record<string, number>> {
  const text = (await request(admin, { path: '/metrics' })).body.toString();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^ebb_open_connections\{direction="(\w+)",protocol="([\w-]+)"\} (\d+)$/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

// The outbound listener counts its connections on a drain of its own (so the proxy's drain phases
// do not reach the app's outbound calls); ebb_open_connections must still show them, labelled
// direction="outbound" as ebb_connections_total labels them. The original destination comes from
// a stand-in for SO_ORIGINAL_DST (no iptables needed): every connection "was going" to the app.
test('ebb_open_connections counts outbound connections (HTTP/1 and upgraded) under direction="outbound"', async () => {
  const log = createLogger('silent');
  const release = deferred();
  const held = deferred();
  const app = await startApp(async (_req, res) => { held.resolve(); await release.promise; res.end('done'); }, (s) => {
    s.on('upgrade', (_req, socket: net.Socket) => {
      socket.on('end', () => socket.end()); // the client's close, carried across by the proxy, closes it here too
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    });
  });
  const config = loadProxyConfig({}, { EBB_APP_PORT: String(app.port), EBB_SIDECAR_MODE: 'native' });
  const drain = new Drain({ waiting: createWaitingStrategy({ mode: 'fixed', seconds: 0 }), drainTimeoutSeconds: 5, log });
  const metrics = new ProxyMetrics(drain);
  const ctx = createProxyContext(config, drain, metrics, log);
  const outbound = new OutboundListener(ctx, 0, () => ({ address: '127.0.0.1', port: app.port, family: 'IPv4' }), () => [app.port]);
  const outboundPort = await outbound.listen();
  const admin = new AdminServer({ drain, metrics, log, shutdownEndpoint: false, state: () => ({}) });
  const adminPort = await admin.listen(0, '127.0.0.1');
  after(async () => { release.resolve(); outbound.dispose(); admin.close(); await app.close(); });

  // One HTTP/1 request held open by the app, one connection upgraded and spliced.
  const reply = request(outboundPort, { path: '/held' });
  await held.promise;
  const ws = await rawConnect(outboundPort);
  ws.socket.write('GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
  await eventually(() => ws.received().includes('101 Switching Protocols'), 'the upgrade went through');

  let seen: Record<string, number> = {};
  await eventually(async () => {
    seen = await openConnections(adminPort);
    return seen['outbound/http1'] === 1 && seen['outbound/upgraded'] === 1;
  }, 'ebb_open_connections shows both outbound connections').catch((err: Error) => {
    throw new Error(`${err.message}; ebb_open_connections: ${JSON.stringify(seen)}`);
  });
  assert.deepEqual(seen, { 'outbound/http1': 1, 'outbound/upgraded': 1 }, 'nothing counted as inbound');
  const text = (await request(adminPort, { path: '/metrics' })).body.toString();
  assert.match(text, /^ebb_connections_total\{direction="outbound",protocol="http1"\} 2$/m, 'the same direction label as the counter');

  // Once they close, the gauge goes back down.
  release.resolve();
  assert.equal((await reply).status, 200);
  ws.socket.destroy();
  await eventually(async () => { seen = await openConnections(adminPort); return Object.values(seen).every((n) => n === 0); }, 'the gauge went back to 0').catch((err: Error) => { throw new Error(`${err.message}; ebb_open_connections: ${JSON.stringify(seen)}`); });
});
