import type { Socket } from 'node:net';
import type { ProxyConfig } from '../config/proxy.js';
import type { Drain, Handle } from '../drain/index.js';
import type { ProxyMetrics } from '../admin/metrics.js';
import type { Logger } from '../log.js';

/** What every protocol handler needs: shared by all listeners of one proxy process. */
export interface ProxyContext {
  readonly config: ProxyConfig;
  readonly drain: Drain;
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
  /** Metrics direction label index (DIR_INBOUND when absent; the outbound listener sets DIR_OUTBOUND). */
  readonly direction?: number;
}

/** The drain handle of an accepted connection travels with its socket. */
export const kHandle = Symbol('ebb.handle');
export type TrackedSocket = Socket & { [kHandle]?: Handle };
