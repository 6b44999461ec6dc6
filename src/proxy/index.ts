import { registerPreStop } from '../admin/prestop.js';
import { registerWaitQuiet, waitQuietDefaults } from '../admin/wait-quiet.js';
import type { ProxyConfig } from '../config/proxy.js';
import { Drain, createWaitingStrategy } from '../drain/index.js';
import { ProxyMetrics } from '../admin/metrics.js';
import { AdminServer } from '../admin/server.js';
import { EbbError } from '../errors.js';
import type { Logger } from '../log.js';
import { createProxyContext, type ProxyContext } from './context.js';
import { InboundListener } from './listener.js';
import { loadMallocTrim, loadOriginalDst } from '../native/original-dst.js';
import { startMemoryRelief } from './memory-relief.js';
import { OutboundListener, TransparentInboundListener } from './transparent.js';
import { watchForAppExit } from './app-exit-watch.js';

export interface ListeningPorts {
  readonly admin: number;
  readonly inbound: ReadonlyArray<{ readonly port: number; readonly appPort: number }>;
  readonly outbound: number | null;
}

export interface RunningProxy {
  readonly ctx: ProxyContext;
  readonly drain: Drain;
  readonly admin: AdminServer;
  readonly listeners: readonly InboundListener[];
  /** --transparent only. */
  readonly transparentInbound?: TransparentInboundListener;
  readonly outbound?: OutboundListener;
  readonly ports: ListeningPorts;
  /** Releases everything still open (upstream pools, the admin server). Call after drain.exited. */
  close(): void;
}

/**
 * Builds the proxy from a validated config and binds every listener, then logs the one
 * `"msg":"listening"` line that tests, the lab, the bench and `ebb await` wait for.
 */
export async function startProxy(config: ProxyConfig, log: Logger): Promise<RunningProxy> {
  // Withdrawing watches the same quiet period as the auto wait and /wait-quiet.
  const withdraw = { timeoutSeconds: config.withdrawTimeoutSeconds, quietSeconds: waitQuietDefaults(config.waitBeforeExit).quietSeconds };
  const drain = new Drain({ waiting: createWaitingStrategy(config.waitBeforeExit), drainTimeoutSeconds: config.drainTimeoutSeconds, withdraw, log });
  const metrics = new ProxyMetrics(drain);
  const ctx = createProxyContext(config, drain, metrics, log);
  // --transparent: one inbound listener that finds each connection's app port, and the outbound
  // listener; the configured app ports (--app-port/--inbound) are not bound, only remembered.
  const originalDst = config.transparent ? loadOriginalDst() : undefined; // a clear error if the addon is missing
  const listeners = config.transparent ? [] : config.inbound.map((pair) => new InboundListener(ctx, pair));
  const appPorts = new Set(config.inbound.map((p) => p.appPort));
  const transparentInbound = originalDst &&
    new TransparentInboundListener(ctx, config.inboundPort, originalDst, appPorts, appPorts.size === 1 ? [...appPorts][0] : undefined);
  const outbound = originalDst && new OutboundListener(ctx, config.outboundPort, originalDst, () => [...appPorts],
    () => [ports.admin, ...ports.inbound.map((i) => i.port)]);
  let ports: ListeningPorts = { admin: -1, inbound: [], outbound: null };
  const admin = new AdminServer({
    drain, metrics, log, shutdownEndpoint: config.shutdownEndpoint,
    state: () => ({
      ports, waitBeforeExit: config.waitBeforeExit, drainTimeoutSeconds: config.drainTimeoutSeconds, withdrawTimeoutSeconds: config.withdrawTimeoutSeconds,
      buffered: { bytes: ctx.budget.used, highest: ctx.budget.max, budget: ctx.budget.limit, closedConnections: ctx.budget.evictions, throttledChunks: ctx.budget.throttledChunks },
      clientConnections: { open: ctx.connections.open, max: ctx.connections.max, refused: ctx.connections.refused },
    }),
  });

  registerWaitQuiet(admin, drain, config.waitBeforeExit, config.transparent);
  registerPreStop(admin, drain);

  const bind = async (what: string, port: number, host: string, fn: () => Promise<number>): Promise<number> => {
    try {
      return await fn();
    } catch (err) {
      for (const l of listeners) l.close();
      transparentInbound?.close();
      outbound?.dispose();
      admin.close();
      throw new EbbError('bind_failed', `cannot listen for ${what} on ${host}:${port}: ${(err as Error).message}`);
    }
  };
  const inbound = [];
  for (const l of listeners) {
    const port = await bind(`inbound (app port ${l.pair.appPort})`, l.pair.listenPort, config.inboundHost, () => l.listen(config.inboundHost));
    inbound.push({ port, appPort: l.pair.appPort });
  }
  let outboundPort: number | null = null;
  if (transparentInbound && outbound) {
    // appPort 0: the original destination's port, per connection.
    inbound.push({ port: await bind('inbound (transparent)', config.inboundPort, config.inboundHost, () => transparentInbound.listen(config.inboundHost)), appPort: 0 });
    outboundPort = await bind('outbound', config.outboundPort, '127.0.0.1', () => outbound.listen());
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== config.proxyUid) {
      log.warn({ uid, proxyUid: config.proxyUid }, `running as uid ${uid}, not --proxy-uid ${config.proxyUid}: \`ebb init\` rules will redirect the proxy's own upstream connections back into it; run the proxy as uid ${config.proxyUid}`);
    }
  }
  const adminPort = await bind('admin', config.adminPort, '0.0.0.0', () => admin.listen(config.adminPort));
  ports = { admin: adminPort, inbound, outbound: outboundPort };
  log.info({ admin: adminPort, inbound, outbound: outboundPort }, 'listening');
  if (config.exitWhenAppExits) watchForAppExit(drain, log, config.appExitSettleSeconds * 1000);
  const relief = startMemoryRelief(ctx, loadMallocTrim());
  void drain.exited.then(() => relief.stop());

  return {
    ctx, drain, admin, listeners, ports, transparentInbound, outbound,
    close() {
      relief.stop();
      for (const l of listeners) l.close();
      transparentInbound?.close();
      outbound?.dispose();
      admin.close();
    },
  };
}
