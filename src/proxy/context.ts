import type { Socket } from 'node:net';
import type { ProxyConfig } from '../config/proxy.js';
import type { Drain, Handle } from '../drain/index.js';
import type { ProxyMetrics } from '../admin/metrics.js';
import type { Logger } from '../log.js';
import { BufferBudget, ConnectionLimit } from './budget.js';

/** What every protocol handler needs: shared by all listeners of one proxy process. */
export interface ProxyContext {
  readonly config: ProxyConfig;
  readonly drain: Drain;
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
  /** --max-buffered-bytes, shared by every listener and protocol of the process. */
  readonly budget: BufferBudget;
  /** --max-connections, over every inbound listener. */
  readonly connections: ConnectionLimit;
  /** Metrics direction label index (DIR_INBOUND when absent; the outbound listener sets DIR_OUTBOUND). */
  readonly direction?: number;
}

/** The drain handle of an accepted connection travels with its socket. */
export const kHandle = Symbol('ebb.handle');
export type TrackedSocket = Socket & { [kHandle]?: Handle };

/** The context of one proxy process: its bounds over all connections (src/proxy/budget.ts) made here. */
export function createProxyContext(config: ProxyConfig, drain: Drain, metrics: ProxyMetrics, log: Logger): ProxyContext {
  const budget = new BufferBudget(config.maxBufferedBytes, {
    evicted: (h, held, used) => log.warn({ protocol: h.kind, heldBytes: held, bufferedBytes: used, maxBufferedBytes: config.maxBufferedBytes },
      'buffer budget: closing the client connection that holds the most unread bytes'),
  });
  const connections = new ConnectionLimit(config.maxConnections);
  metrics.watchBudget(budget, connections);
  return { config, drain, metrics, log, budget, connections };
}
