import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Drain } from '../drain/index.js';
import type { ProxyMetrics } from './metrics.js';
import type { Logger } from '../log.js';

/**
 * The admin server: probes, metrics, state and the opt-in shutdown endpoint. It is not part of
 * the drain: it keeps answering until the process exits, so the kubelet sees /live 200 for the
 * whole shutdown, and /ready 200 while waiting, 503 from withdrawing (the end of the wait) on.
 *
 * Other parts add routes with `route(method, path, handler)` (e.g. GET /wait-quiet).
 */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface AdminOptions {
  readonly drain: Drain;
  readonly metrics: ProxyMetrics;
  readonly log: Logger;
  readonly shutdownEndpoint: boolean;
  /** Extra fields for GET /state (ports, config), computed when asked. */
  readonly state: () => Record<string, unknown>;
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

export class AdminServer {
  readonly server: http.Server;
  private readonly routes = new Map<string, AdminHandler>();
  port = -1;

  constructor(private readonly opts: AdminOptions) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    const { drain, metrics } = opts;
    this.route('GET', '/live', (_req, res) => text(res, 200, 'live\n'));
    // /ready is the pod's `serving` condition once it terminates. A terminating endpoint is
    // ready=false whatever the probe says, but since KEP-1669 (ProxyTerminatingEndpoints, GA in
    // 1.28) kube-proxy sends traffic to terminating endpoints that are still serving when a
    // Service has no ready endpoint left (the last replica, a scale to zero,
    // externalTrafficPolicy: Local on a node with only this pod). Failing readiness while the
    // proxy still serves (waiting) would only withdraw the pod from that fallback, so it fails
    // once the wait is over: withdrawing (the listeners still accept, so clients that kube-proxy
    // still sends here are served until the kubelet has seen the 503), then draining.
    this.route('GET', '/ready', (_req, res) => {
      // For `ebb await`: a proxy that is terminating is no place to start a Job's work.
      res.setHeader('ebb-phase', drain.phase);
      if (drain.phase === 'running') text(res, 200, drain.terminating ? 'ready: terminating, still serving\n' : 'ready\n');
      else if (drain.phase === 'waiting') text(res, 200, 'ready: terminating, still serving (waiting)\n');
      else text(res, 503, `not ready: shutting down (${drain.phase})\n`);
    });
    this.route('GET', '/metrics', async (_req, res) => {
      const registry = await metrics.registry();
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
    this.route('GET', '/state', (_req, res) => json(res, 200, this.state()));
  }

  /** Every endpoint this server answers, as "METHOD /path" (for the docs test and GET /state readers). */
  endpoints(): string[] {
    return [...this.routes.keys(), 'POST /shutdown'];
  }

  /** Adds (or replaces) a route. `method` is upper-case; `path` exact, without query. */
  route(method: string, path: string, handler: AdminHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  state(): Record<string, unknown> {
    const d = this.opts.drain;
    const quiet = d.activity.quietMs();
    return {
      phase: d.phase,
      reason: d.reason,
      triggeredAt: d.triggeredAtEpochMs === null ? null : new Date(d.triggeredAtEpochMs).toISOString(),
      /** Told the pod is terminating (GET /prestop, or any trigger): clients are being told to leave. */
      terminating: d.terminating,
      terminatingReason: d.terminatingReason,
      terminatingAt: d.terminatingAtEpochMs === null ? null : new Date(d.terminatingAtEpochMs).toISOString(),
      inFlight: d.inFlight(),
      servedWhileWaiting: d.servedWhileWaiting,
      forcedCloses: d.forcedCloses,
      lastInboundActivityMsAgo: Number.isFinite(quiet) ? Math.round(quiet) : null,
      /** Seconds without a new inbound connection or request (what `auto` and /wait-quiet watch). */
      quietSeconds: Number.isFinite(quiet) ? Math.round(quiet) / 1000 : null,
      timings: { runningMs: d.phaseMs('running'), waitingMs: d.phaseMs('waiting'), withdrawingMs: d.phaseMs('withdrawing'), drainingMs: d.phaseMs('draining') },
      ...this.opts.state(),
    };
  }

  listen(port: number, host = '0.0.0.0'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname === '/shutdown') { this.shutdown(req, res); return; }
    const h = this.routes.get(`${req.method} ${url.pathname}`);
    if (!h) {
      const known = [...this.routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
      text(res, known ? 405 : 404, known ? 'method not allowed\n' : 'not found\n');
      return;
    }
    Promise.resolve(h(req, res, url)).catch((err: unknown) => {
      this.opts.log.error({ err }, 'admin handler failed');
      if (!res.headersSent) text(res, 500, 'internal error\n');
      else res.destroy();
    });
  }

  /** POST /shutdown: 404 unless enabled, 405 for other methods, 403 unless from loopback, else 202. */
  private shutdown(req: IncomingMessage, res: ServerResponse): void {
    if (!this.opts.shutdownEndpoint) { text(res, 404, 'not found (start the proxy with --shutdown-endpoint to enable)\n'); return; }
    if (req.method !== 'POST') { res.setHeader('allow', 'POST'); text(res, 405, 'method not allowed: use POST\n'); return; }
    const from = req.socket.remoteAddress;
    if (!isLoopback(from)) {
      this.opts.log.warn({ from }, 'POST /shutdown refused: not from loopback');
      text(res, 403, 'forbidden: only loopback clients may shut the proxy down\n');
      return;
    }
    const started = this.opts.drain.trigger('POST /shutdown');
    json(res, 202, { accepted: true, started, phase: this.opts.drain.phase });
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
