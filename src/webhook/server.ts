/**
 * A generic admission webhook server (the linkerd2 shape): HTTPS, one pluggable handler.
 *
 * It owns everything that is not a decision: reading the body under a size cap, decoding and
 * checking the AdmissionReview (uid!), answering malformed input with HTTP 400, turning a handler
 * error into `allowed: false` with the message, metrics, /healthz, and TLS reload. It never lets
 * one request take the process down.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Operation } from 'fast-json-patch';
import type { Logger } from '../log.js';
import { AdmissionReviewError } from '../errors.js';
import {
  decodeAdmissionReview, encodePatch, reviewResponse, shortWarning,
  type AdmissionRequest, type AdmissionResponse,
} from './review.js';
import { createWebhookMetrics, type WebhookMetrics } from './metrics.js';
import { TlsReloader, describeCertificate, loadTlsPair } from './tls.js';

/** What a handler decides. `reason` is a stable code for metrics and logs. */
export interface AdmissionDecision {
  allowed: boolean;
  reason: string;
  patch?: Operation[];
  warnings?: string[];
  /** For `allowed: false`: the message kubectl shows. */
  message?: string;
}

export type AdmissionHandler = (request: AdmissionRequest) => AdmissionDecision | Promise<AdmissionDecision>;

export interface AdmissionServerOptions {
  handler: AdmissionHandler;
  tlsCert: string;
  tlsKey: string;
  port: number;
  host?: string;
  /** URL path of the admission endpoint. */
  path?: string;
  /** Request bodies larger than this are refused with 400. */
  maxBodyBytes?: number;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** Backstop interval for re-reading the TLS files (the directory watch is the main trigger). */
  tlsPollMs?: number;
}

/** The API server caps stored objects at ~1.5 MiB; a Pod CREATE review is the object plus a little. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The health and metrics paths beside the admission endpoint (`--path`, default /inject). */
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';

export class AdmissionServer {
  readonly metrics: WebhookMetrics;
  private readonly server: Server;
  private readonly tls: TlsReloader;
  private readonly path: string;
  private readonly maxBody: number;
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: AdmissionServerOptions) {
    this.metrics = opts.metrics ?? createWebhookMetrics();
    this.path = opts.path ?? '/inject';
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.log = opts.logger;
    const pair = loadTlsPair(opts.tlsCert, opts.tlsKey);
    this.server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
      this.route(req, res).catch((err: unknown) => {
        // Last line of defence: an answer, a log line, and the process keeps serving.
        this.log.error({ err }, 'webhook request failed');
        if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${(err as Error)?.message ?? String(err)}\n`);
        else res.destroy();
      });
    });
    // The API server gives a webhook at most 30 s; nothing legitimate takes longer to arrive.
    this.server.requestTimeout = 30_000;
    this.server.headersTimeout = 10_000;
    this.server.on('clientError', (err, socket) => {
      this.log.debug({ err: err.message }, 'client error');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.server.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'TLS handshake failed'));
    this.tls = new TlsReloader({
      certFile: opts.tlsCert,
      keyFile: opts.tlsKey,
      pollMs: opts.tlsPollMs,
      apply: (ctx) => this.server.setSecureContext({ ...ctx, minVersion: 'TLSv1.2' }),
      onReload: (p) => {
        this.metrics.tlsReloads.inc({ result: 'success' });
        this.log.info({ certificate: describeCertificate(p.cert) }, 'TLS certificate reloaded');
      },
      onError: (err) => {
        this.metrics.tlsReloads.inc({ result: 'failure' });
        this.log.warn({ err: err.message }, 'TLS reload failed; still serving the previous certificate');
      },
    }, pair);
    this.log.debug({ certificate: describeCertificate(pair.cert) }, 'TLS certificate loaded');
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.tls.start();
    return this.port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Re-reads the TLS files now (the watch does this on its own); true when a new pair was applied. */
  reloadTls(): boolean {
    return this.tls.check();
  }

  /** Stops accepting, lets requests in flight finish (up to graceMs), then closes the rest. Idempotent. */
  close(graceMs = 5_000): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.tls.close();
      const force = setTimeout(() => this.server.closeAllConnections(), graceMs);
      force.unref();
      this.server.close(() => { clearTimeout(force); resolve(); });
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  /** Every path this server answers: the admission endpoint, health and metrics. */
  get paths(): string[] {
    return [this.path, HEALTH_PATH, METRICS_PATH];
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'https://webhook.invalid').pathname;
    if (path === this.path) {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'use POST\n', { allow: 'POST' });
      return this.admit(req, res);
    }
    if (path === HEALTH_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'use GET\n', { allow: 'GET, HEAD' });
      return send(res, 200, 'text/plain', 'ok\n');
    }
    if (path === METRICS_PATH) {
      if (req.method !== 'GET') return send(res, 405, 'text/plain', 'use GET\n', { allow: 'GET' });
      return send(res, 200, this.metrics.registry.contentType, await this.metrics.registry.metrics());
    }
    return send(res, 404, 'text/plain', `not found: ${path}\n`);
  }

  private async admit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let request: AdmissionRequest;
    let started: bigint;
    try {
      const type = req.headers['content-type'];
      if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
        throw new AdmissionReviewError('wrong_content_type', `expected Content-Type application/json, got ${type}`);
      }
      const body = await readBody(req, this.maxBody);
      started = process.hrtime.bigint();
      request = decodeAdmissionReview(body);
    } catch (err) {
      if (!(err instanceof AdmissionReviewError)) throw err;
      this.metrics.admissions.inc({ outcome: 'rejected', reason: err.reason });
      this.log.warn({ reason: err.reason, err: err.message }, 'malformed admission review');
      return send(res, err.httpStatus, 'text/plain', `${err.message}\n`, err.reason === 'body_too_large' ? { connection: 'close' } : {});
    }

    let response: AdmissionResponse;
    let outcome: string;
    let reason: string;
    try {
      const decision = await this.opts.handler(request);
      reason = decision.reason;
      response = { uid: request.uid, allowed: decision.allowed };
      if (decision.allowed && decision.patch && decision.patch.length > 0) {
        response.patchType = 'JSONPatch';
        response.patch = encodePatch(decision.patch);
        outcome = 'patched';
      } else {
        outcome = decision.allowed ? 'allowed' : 'denied';
      }
      if (!decision.allowed) response.status = { code: 403, message: decision.message ?? decision.reason, reason: 'Forbidden' };
      const warnings = (decision.warnings ?? []).map(shortWarning).filter((w) => w !== '');
      if (warnings.length > 0) response.warnings = warnings;
    } catch (err) {
      if (err instanceof AdmissionReviewError) {
        this.metrics.admissions.inc({ outcome: 'rejected', reason: err.reason });
        this.log.warn({ uid: request.uid, reason: err.reason, err: err.message }, 'malformed admission review');
        return send(res, err.httpStatus, 'text/plain', `${err.message}\n`);
      }
      // A handler error denies this one request, with the message, and nothing else.
      outcome = 'denied';
      reason = (err as { code?: string }).code ?? 'handler_error';
      const message = `ebb injector: ${(err as Error)?.message ?? String(err)}`;
      response = { uid: request.uid, allowed: false, status: { code: 500, message, reason: 'InternalError' } };
      this.log.error({ uid: request.uid, err }, 'admission handler failed');
    }

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.metrics.admissions.inc({ outcome, reason });
    this.metrics.latency.observe({ outcome }, seconds);
    this.log.info({
      uid: request.uid, kind: request.kind.kind, operation: request.operation, namespace: request.namespace,
      name: request.name || objectName(request.object), dryRun: request.dryRun ?? false,
      outcome, reason, warnings: response.warnings?.length ?? 0, ms: Math.round(seconds * 1e4) / 10,
    }, 'admission');
    send(res, 200, 'application/json', JSON.stringify(reviewResponse(response)));
  }
}

function objectName(obj: unknown): string | undefined {
  const meta = (obj as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
  return meta?.name || (meta?.generateName ? `${meta.generateName}*` : undefined);
}

/**
 * Reads the whole body, refusing more than `max` bytes. An oversized body is still read (and
 * dropped) up to a hard limit so that the client sees our 400 rather than a reset mid-upload.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const hardLimit = Math.max(max * 4, 1024 * 1024);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > hardLimit) {
    req.resume();
    return Promise.reject(new AdmissionReviewError('body_too_large', `request body of ${declared} bytes is over the ${max}-byte limit`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) chunks.push(chunk);
      else if (size > hardLimit) req.destroy();
    });
    req.on('end', () => {
      if (size > max) reject(new AdmissionReviewError('body_too_large', `request body of ${size} bytes is over the ${max}-byte limit`));
      else resolve(Buffer.concat(chunks, size));
    });
    req.on('error', (err) => reject(new AdmissionReviewError('body_unreadable', `reading the request body failed: ${err.message}`)));
    req.on('close', () => { if (!req.complete) reject(new AdmissionReviewError('body_unreadable', 'client went away mid-body')); });
  });
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
