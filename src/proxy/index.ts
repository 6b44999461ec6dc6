import type { ProxyConfig } from '../config/proxy.js';
import { Drain, createWaitingStrategy } from '../drain/index.js';
import { ProxyMetrics } from '../admin/metrics.js';
import { AdminServer } from '../admin/server.js';
import { EbbError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ProxyContext } from './context.js';
import { InboundListener } from './listener.js';

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
  readonly ports: ListeningPorts;
  /** Releases everything still open (upstream pools, the admin server). Call after drain.exited. */
  close(): void;
}

/**
 * Builds the proxy from a validated config and binds every listener, then logs the one
 * `"msg":"listening"` line that tests, the lab, the bench and `ebb await` wait for.
 */
export async function startProxy(config: ProxyConfig, log: Logger): Promise<RunningProxy> {
  const drain = new Drain({ waiting: createWaitingStrategy(config.waitBeforeExit), drainTimeoutSeconds: config.drainTimeoutSeconds, log });
  const metrics = new ProxyMetrics(drain);
  const ctx: ProxyContext = { config, drain, metrics, log };
  const listeners = config.inbound.map((pair) => new InboundListener(ctx, pair));
  let ports: ListeningPorts = { admin: -1, inbound: [], outbound: null };
  const admin = new AdminServer({
    drain, metrics, log, shutdownEndpoint: config.shutdownEndpoint,
    state: () => ({ ports, waitBeforeExit: config.waitBeforeExit, drainTimeoutSeconds: config.drainTimeoutSeconds }),
  });

  const bind = async (what: string, port: number, host: string, fn: () => Promise<number>): Promise<number> => {
    try {
      return await fn();
    } catch (err) {
      for (const l of listeners) l.close();
      admin.close();
      throw new EbbError('bind_failed', `cannot listen for ${what} on ${host}:${port}: ${(err as Error).message}`);
    }
  };
  const inbound = [];
  for (const l of listeners) {
    const port = await bind(`inbound (app port ${l.pair.appPort})`, l.pair.listenPort, config.inboundHost, () => l.listen(config.inboundHost));
    inbound.push({ port, appPort: l.pair.appPort });
  }
  const adminPort = await bind('admin', config.adminPort, '0.0.0.0', () => admin.listen(config.adminPort));
  ports = { admin: adminPort, inbound, outbound: null };
  log.info({ admin: adminPort, inbound, outbound: null }, 'listening');

  return {
    ctx, drain, admin, listeners, ports,
    close() {
      for (const l of listeners) l.close();
      admin.close();
    },
  };
}
