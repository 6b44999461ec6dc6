import http2, {
  type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders,
  type ServerHttp2Session, type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Http2Stream } from 'node:http2';
import { DIR_INBOUND, PROTO_GRPC, PROTO_HTTP2 } from '../admin/metrics.js';
import { installAsyncBindFix } from './async-bind-fix.js';
import { classifyUpstreamError, isGrpc, respondHttp2Error } from './errors.js';
import { isHopByHop } from './headers.js';
import type { ProxyContext } from './context.js';
import type { Upstream } from './upstream.js';

/**
 * HTTP/2 cleartext (prior knowledge) and gRPC, stream by stream to an h2c session with the app.
 * Graceful close for HTTP/2: at draining every client session gets GOAWAY (session.close()), which
 * refuses new streams and lets the open ones finish; the connection closes when the last one does.
 * Trailers are carried both ways (gRPC status lives there) and RST_STREAM is propagated both ways.
 */
const { NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

// Bigger windows than the protocol default (64 KiB) so one large stream is not throttled by
// round trips between proxy and peer.
const SETTINGS: http2.Settings = { initialWindowSize: 1 << 20, enablePush: false };
const CONNECTION_WINDOW = 8 << 20;

// Options for request() and respond(), made once. Node copies them and then fills in what is
// missing (endStream; the priority defaults: weight 16, no parent, not exclusive); an object that
// already has every field costs Node noticeably less per stream. The values are Node's defaults,
// so the frames on the wire are the same. `weight` only before Node 24, which deprecates priority
// signaling and warns when a request carries a weight (DEP0194).
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const PRIORITY = NODE_MAJOR < 24 ? { weight: 16, parent: 0, exclusive: false, silent: false } : { parent: 0, exclusive: false, silent: false };
const REQUEST_NO_BODY: http2.ClientSessionRequestOptions = { endStream: true, waitForTrailers: false, ...PRIORITY };
const REQUEST_WITH_BODY: http2.ClientSessionRequestOptions = { endStream: false, waitForTrailers: true, ...PRIORITY };
const RESPOND_NO_BODY: http2.ServerStreamResponseOptions = { endStream: true, waitForTrailers: false };
const RESPOND_WITH_BODY: http2.ServerStreamResponseOptions = { endStream: false, waitForTrailers: true };

/**
 * Resets a stream with a real RST_STREAM. Node's stream.close(code) first ends the writable side,
 * so the peer sees a clean END_STREAM and ignores the reset; destroy() sends the RST at once, with
 * CANCEL for node's AbortError and INTERNAL_ERROR otherwise (the two codes node lets us choose).
 */
const AbortErrorCtor: new () => Error = await (async () => {
  const ac = new AbortController();
  ac.abort();
  try { await sleep(0, undefined, { signal: ac.signal }); } catch (err) { return (err as Error).constructor as new () => Error; }
  return Error;
})();

function resetStream(s: Http2Stream, code: number | undefined): void {
  if (s.destroyed) return;
  s.destroy(code === NGHTTP2_CANCEL ? new AbortErrorCtor() : new Error(`stream reset by peer (code ${code})`));
}

export class Http2Proxy {
  readonly server: http2.Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private upSession: ClientHttp2Session | null = null;
  /** The socket being handed to the server, so its 'session' handler can watch it. */
  private accepting: Socket | null = null;

  constructor(readonly ctx: ProxyContext, readonly upstream: Upstream) {
    installAsyncBindFix(); // every upstream request() pays for a Node bug without it
    this.server = http2.createServer({ settings: SETTINGS });
    this.server.on('session', (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
      s.on('error', (err) => ctx.log.debug({ err: err.message }, 'h2: client session error'));
      s.once('connect', () => s.setLocalWindowSize(CONNECTION_WINDOW));
      // The listener allows half-open sockets (TCP needs them), so a FIN from an HTTP/2 client
      // would leave the session open for ever, its socket in CLOSE_WAIT and its streams in flight.
      // A half-closed HTTP/2 client can send no WINDOW_UPDATE and no acknowledgement: it is gone.
      // Close the connection and reset its streams (to the app too, CANCEL), as nginx does.
      const socket = this.accepting;
      socket?.once('end', () => { if (!s.destroyed) s.destroy(); });
    });
    this.server.on('stream', (stream, headers, flags) => this.onStream(stream, headers, flags));
    upstream.onClose(ctx.drain.on('draining', () => {
      for (const s of this.sessions) if (!s.closed) s.close();
    }));
    upstream.onClose(() => this.upSession?.destroy());
  }

  accept(socket: Socket): void {
    this.accepting = socket;
    this.server.emit('connection', socket); // creates the session and emits 'session' at once
    this.accepting = null;
  }

  /** The shared h2c session to the app; a new one after the old one closed or got GOAWAY. */
  private session(): ClientHttp2Session {
    const cur = this.upSession;
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const s = http2.connect(this.upstream.origin, { settings: SETTINGS });
    s.on('error', (err) => this.ctx.log.debug({ err: err.message }, 'h2: app session error'));
    s.once('connect', () => s.setLocalWindowSize(CONNECTION_WINDOW));
    const forget = (): void => { if (this.upSession === s) this.upSession = null; };
    s.once('close', forget);
    s.once('goaway', forget);
    this.upSession = s;
    return s;
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    const { drain, metrics } = this.ctx;
    drain.requestStarted();
    const start = performance.now();
    const grpc = isGrpc(headers['content-type']);
    let status = 0;
    let up: ClientHttp2Stream | null = null;
    let clientTrailers: IncomingHttpHeaders | null = null;
    let appTrailers: IncomingHttpHeaders | null = null;

    stream.once('close', () => {
      drain.requestFinished();
      // The client reset the stream (or went away): pass the reset on to the app.
      if (up && !up.destroyed && !(up.readableEnded && up.writableFinished)) resetStream(up, stream.rstCode || NGHTTP2_CANCEL);
      metrics.requestDone(this.ctx.direction ?? DIR_INBOUND, grpc ? PROTO_GRPC : PROTO_HTTP2, stream.rstCode === NGHTTP2_NO_ERROR ? status : 0,
        (performance.now() - start) / 1000);
    });
    stream.on('error', ignore); // reported through 'close' and rstCode

    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    try {
      up = this.session().request(forwardHeaders(headers), endStream ? REQUEST_NO_BODY : REQUEST_WITH_BODY);
    } catch (err) {
      status = respondHttp2Error(stream, classifyUpstreamError(err), grpc);
      return;
    }
    const u = up;
    const timeoutS = this.ctx.config.upstreamTimeoutSeconds;
    if (timeoutS > 0) {
      const timer = setTimeout(() => {
        if (stream.destroyed || stream.headersSent) return;
        status = respondHttp2Error(stream, 'upstream_timeout', grpc);
        u.close(NGHTTP2_CANCEL);
      }, timeoutS * 1000);
      u.once('response', () => clearTimeout(timer));
      u.once('close', () => clearTimeout(timer));
    }
    // Node ends a stream's readable side when it is reset, too; piping with `end` would turn a
    // reset into a clean END_STREAM on the other side. End only if it really ended cleanly.
    if (!endStream) {
      stream.on('trailers', (t: IncomingHttpHeaders) => { clientTrailers = t; });
      u.on('wantTrailers', () => u.sendTrailers(clientTrailers ? forwardHeaders(clientTrailers) : {}));
      forward(stream, u, () => { if (!stream.rstCode) u.end(); });
    }

    u.on('response', (h: IncomingHttpHeaders, f: number) => {
      if (stream.destroyed) return;
      status = Number(h[':status']);
      const out = forwardHeaders(h);
      if ((f & NGHTTP2_FLAG_END_STREAM) !== 0) {
        stream.respond(out, RESPOND_NO_BODY); // trailers-only (gRPC errors) or an empty body
        return;
      }
      stream.respond(out, RESPOND_WITH_BODY);
      u.on('trailers', (t: IncomingHttpHeaders) => { appTrailers = t; });
      stream.on('wantTrailers', () => stream.sendTrailers(appTrailers ? forwardHeaders(appTrailers) : {}));
      forward(u, stream, () => { if (!u.rstCode) stream.end(); else resetStream(stream, u.rstCode); });
    });

    u.on('error', (err: NodeJS.ErrnoException) => {
      if (stream.destroyed) return;
      if (!stream.headersSent) status = respondHttp2Error(stream, classifyUpstreamError(err), grpc);
      else resetStream(stream, u.rstCode);
    });
    u.once('close', () => {
      if (stream.destroyed) return;
      const code = u.rstCode;
      if (code === undefined || code === NGHTTP2_NO_ERROR) {
        if (!stream.headersSent) status = respondHttp2Error(stream, 'upstream_reset', grpc);
        return;
      }
      // The app reset the stream. Before any response, answer in the protocol's terms (gRPC:
      // UNAVAILABLE, which a client may retry); after, reset the client's stream too.
      if (!stream.headersSent) status = respondHttp2Error(stream, 'upstream_reset', grpc, `RST_STREAM ${code}`);
      else resetStream(stream, code);
    });
  }
}

function ignore(): void {}

/**
 * Moves a stream's body to the other side with backpressure, without Readable.pipe's bookkeeping
 * (pipe adds and later removes seven listeners on the two streams). `onEnd` runs when `src` ends,
 * instead of ending `dst`: a reset ends a readable side too, and the caller tells the two apart.
 * Nothing is written once `dst` is closed; the caller's 'close' handlers reset the other side.
 */
function forward(src: Http2Stream, dst: Http2Stream, onEnd: () => void): void {
  const resume = (): void => { src.resume(); };
  src.on('data', (chunk: Buffer) => {
    if (dst.destroyed || dst.writableEnded) return;
    if (!dst.write(chunk)) {
      src.pause();
      dst.once('drain', resume);
    }
  });
  src.once('end', onEnd);
}

/**
 * Headers for the next hop, without connection-specific fields (forbidden in HTTP/2; nghttp2
 * already refuses streams that carry them, so this is a second line). Almost always nothing is
 * dropped and the received object is passed on as it is: request() and respond() copy it anyway.
 * That also keeps the list of fields the peer sent as never-indexed (`http2.sensitiveHeaders`),
 * which an intermediary must not re-encode in a way that lets them be indexed (RFC 7541 §7.1.3).
 */
function forwardHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  for (const k in h) if (dropped(k, h[k])) return copyForwardable(h);
  return h;
}

function dropped(k: string, v: unknown): boolean {
  // TE is allowed in HTTP/2 with the single value "trailers", which gRPC requires.
  return k === 'te' ? v !== 'trailers' : isHopByHop(k);
}

function copyForwardable(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in h) if (!dropped(k, h[k])) out[k] = h[k];
  const sensitive = (h as Record<symbol, unknown>)[http2.sensitiveHeaders];
  if (sensitive !== undefined) (out as Record<symbol, unknown>)[http2.sensitiveHeaders] = sensitive;
  return out;
}
