import type { Socket } from 'node:net';
import { Http1Proxy } from './http1.js';
import { Http1FastProxy } from './http1-fast.js';
import type { ProxyContext } from './context.js';
import type { Upstream } from './upstream.js';

/** What a listener needs of an HTTP/1 engine: it takes connections detected as HTTP/1. */
export interface Http1Engine { accept(socket: Socket): void }

/** The engine --http1-engine names: node (http1.ts) or fast (http1-fast.ts, which hands rare cases to http1.ts). */
export function createHttp1Proxy(ctx: ProxyContext, upstream: Upstream): Http1Engine {
  return ctx.config.http1Engine === 'fast' ? new Http1FastProxy(ctx, upstream) : new Http1Proxy(ctx, upstream);
}
