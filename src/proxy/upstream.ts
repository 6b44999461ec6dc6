import http from 'node:http';
import { createRequire } from 'node:module';
import type { Pool } from 'undici';

/**
 * undici is required on first use (synchronously, once per process): a proxy that carries no
 * HTTP/1 traffic, or has not yet, does not hold its ~9 MB in memory.
 */
let undici: typeof import('undici') | null = null;
function loadUndici(): typeof import('undici') {
  return (undici ??= createRequire(import.meta.url)('undici') as typeof import('undici'));
}

/**
 * Connections to one app port: a pooled keep-alive undici Pool for HTTP/1 (the hot path), a
 * node:http keep-alive Agent for the rare requests undici cannot carry (Expect: 100-continue),
 * and (set by the HTTP/2 side) a shared h2c session.
 */
export class Upstream {
  private poolInstance: Pool | null = null;
  readonly agent: http.Agent;
  /** "http://host:port", IPv6 hosts in brackets. */
  readonly origin: string;
  private readonly closers: Array<() => void> = [];

  /** `host` is the app (127.0.0.1) inbound, or the original destination outbound. */
  constructor(readonly port: number, upstreamTimeoutSeconds: number, readonly host = '127.0.0.1') {
    this.origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.headersTimeoutMs = upstreamTimeoutSeconds * 1000;
    this.agent = new http.Agent({ keepAlive: true, timeout: upstreamTimeoutSeconds > 0 ? upstreamTimeoutSeconds * 1000 : undefined });
  }

  private readonly headersTimeoutMs: number;

  /** The keep-alive pool to the app, created on first use. */
  get pool(): Pool {
    return (this.poolInstance ??= new (loadUndici().Pool)(this.origin, {
      pipelining: 1,
      // Shorter than node's default server keep-alive (5 s), so the proxy lets go of an idle
      // connection before the app closes it under a request being sent.
      keepAliveTimeout: 4_000,
      headersTimeout: this.headersTimeoutMs, // 0 = no limit
      bodyTimeout: 0, // long-lived streams (SSE, downloads) may be quiet for a long time
      connect: { timeout: 10_000 },
    }));
  }

  /** Something else to close with this upstream (the HTTP/2 session manager). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  close(): void {
    void this.poolInstance?.destroy().catch(() => {});
    this.agent.destroy();
    for (const fn of this.closers) fn();
  }
}
