import type * as http2 from 'node:http2';
import type {
  ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream,
} from 'node:http2';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Http2Stream } from 'node:http2';
import { DIR_INBOUND, PROTO_GRPC, PROTO_HTTP2 } from '../admin/metrics.js';
import { installAsyncBindFix } from './async-bind-fix.js';
import { classifyUpstreamError, isGrpc, respondHttp2Error } from './errors.js';
import { isHopByHop } from './headers.js';
import type { BudgetHolder } from './budget.js';
import type { ProxyContext } from './context.js';
import type { Upstream } from './upstream.js';

/**
 * HTTP/2 cleartext (prior knowledge) and gRPC, stream by stream to an h2c session with the app.
 * Telling clients to leave: from 'terminating' on (the proxy's preStop at t0, or any trigger), and
 * when the app's own session to it sends GOAWAY (the app's drain, relayed), a client session gets
 * a graceful GOAWAY (`leave`: session.close(), NO_ERROR with the last stream id processed), and the
 * connection closes once its open streams have finished. A stream that crosses the GOAWAY on the
 * wire is above that id: the client knows it was not processed and retries it (RFC 9113 §6.8).
 * Not the double GOAWAY (2^31-1 first, the real id an RTT later) that §6.8 suggests: through
 * node:http2 nghttp2 ignores every new stream once any GOAWAY is out, without a word, so a first
 * GOAWAY of 2^31-1 would only stall the crossing streams until the second one told the client.
 * A session opened while terminating is served for LEAVE_GRACE_MS from its first stream, then gets
 * the same GOAWAY, so every new connection serves requests and a client whose endpoints are not
 * fresh yet never loops reconnecting to a pod that only refuses it.
 * At draining every client session is closed (session.close()) at once.
 * Trailers are carried both ways (gRPC status lives there) and RST_STREAM is propagated both ways.
 *
 * Isolation between clients: every client connection gets its own h2c session to the app, opened
 * with its first stream and closed with it. One shared session (what this file did before) lets a
 * client's abuse reach everyone: a rapid-reset client makes the app's own guard close the session
 * (GOAWAY) under every other client's streams, and zero-window streams fill the app's stream limit
 * for all. A pool with per-client stream budgets would save connections but still share the app's
 * per-connection limits and fate. A private session costs one loopback connection per client
 * connection, and the app's per-connection guards then act on the client that tripped them.
 * Each client connection also has its own limits (config.h2): streams at once, resets, buffers.
 */
/**
 * node:http2 is loaded with the first HTTP/2 connection (the first Http2Proxy), not at start: it
 * brings tls and crypto with it, about 5 MB of a proxy's idle RSS that a pod speaking only HTTP/1
 * never needs (docs/proxy.md, Memory).
 */
let loaded: typeof http2 | null = null;
function nodeHttp2(): typeof http2 {
  return (loaded ??= createRequire(import.meta.url)('node:http2') as typeof http2);
}

// RFC 9113 §6.1 and §7 (the values of http2.constants of the same names).
const NGHTTP2_FLAG_END_STREAM = 0x1;
const NGHTTP2_NO_ERROR = 0x0;
const NGHTTP2_REFUSED_STREAM = 0x7;
const NGHTTP2_CANCEL = 0x8;
const NGHTTP2_ENHANCE_YOUR_CALM = 0xb;

// Larger than the protocol default (64 KiB) so the window to the app's side is never what limits
// a connection: Node gives connection-level window back as soon as data arrives, so this bounds
// nothing in memory; the per-stream window (config.h2.streamBuffer) does.
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

/** How long a session opened while terminating is served from its first stream before its GOAWAY. */
const LEAVE_GRACE_MS = 1000;

/** One client connection: its session to the app and its counters for the limits. */
interface Client {
  readonly session: ServerHttp2Session;
  up: ClientHttp2Session | null;
  /** Streams received (admitted or not). */
  seen: number;
  /** Told to leave (its GOAWAY is out or timed). */
  leaving: boolean;
  /** Streams forwarded and not closed yet. Node forgets a reset stream at once; this does not. */
  live: number;
  /** Streams whose response was sent to the end. */
  completed: number;
  /** Streams the client reset while the app was working on them, plus streams refused for it. */
  resets: number;
  /** Streams waiting for the client (or the app) to read: each may hold a stream window. */
  stalled: number;
  /** Got GOAWAY ENHANCE_YOUR_CALM: every further stream is refused. */
  calm: boolean;
  /** Its share of --max-buffered-bytes: response bytes not yet sent to it. */
  held: BudgetHolder;
  /** --h2-stream-buffer: what a stalled stream's window to the app may bring in. */
  streamBuffer: number;
}

export class Http2Proxy {
  readonly server: http2.Http2Server;
  private readonly clients = new Map<ServerHttp2Session, Client>();
  /** The socket being handed to the server, so its 'session' handler can watch it. */
  private accepting: Socket | null = null;
  private readonly upSettings: http2.Settings;

  constructor(readonly ctx: ProxyContext, readonly upstream: Upstream) {
    installAsyncBindFix(); // every upstream request() pays for a Node bug without it
    const { maxConcurrentStreams, streamBuffer } = ctx.config.h2;
    this.upSettings = { initialWindowSize: streamBuffer, enablePush: false };
    this.server = nodeHttp2().createServer({ settings: { initialWindowSize: streamBuffer, maxConcurrentStreams, enablePush: false } });
    this.server.on('session', (s: ServerHttp2Session) => {
      // Closed by the budget with GOAWAY ENHANCE_YOUR_CALM (not flow-controlled: it goes out past a zero window).
      const held = ctx.budget.connection('http2', () => { if (!s.destroyed) s.destroy(new Error('buffer budget'), NGHTTP2_ENHANCE_YOUR_CALM); });
      const client: Client = { session: s, up: null, seen: 0, leaving: false, live: 0, completed: 0, resets: 0, stalled: 0, calm: false, held, streamBuffer: ctx.config.h2.streamBuffer };
      this.clients.set(s, client);
      s.once('close', () => {
        this.clients.delete(s);
        held.close();
        // Its streams are closed (and reset to the app) by now; let the resets go out, then close.
        client.up?.close();
      });
      s.on('error', (err) => ctx.log.debug({ err: err.message }, 'h2: client session error'));
      s.once('connect', () => { if (!s.destroyed) s.setLocalWindowSize(CONNECTION_WINDOW); }); // it may be gone already
      // The listener allows half-open sockets (TCP needs them), so a FIN from an HTTP/2 client
      // would leave the session open for ever, its socket in CLOSE_WAIT and its streams in flight.
      // A half-closed HTTP/2 client can send no WINDOW_UPDATE and no acknowledgement: it is gone.
      // Close the connection and reset its streams (to the app too, CANCEL), as nginx does.
      const socket = this.accepting;
      socket?.once('end', () => { if (!s.destroyed) s.destroy(); });
    });
    this.server.on('stream', (stream, headers, flags) => this.onStream(stream, headers, flags));
    // A session that has had no stream yet is told on its first one (onStream).
    upstream.onClose(ctx.drain.on('terminating', () => {
      for (const c of this.clients.values()) if (c.seen > 0) this.leave(c, 'terminating');
    }));
    upstream.onClose(ctx.drain.on('draining', () => {
      for (const s of this.clients.keys()) if (!s.closed) s.close();
    }));
    upstream.onClose(() => { for (const c of this.clients.values()) c.up?.destroy(); });
  }

  /**
   * The graceful GOAWAY (see the top of this file), now or `afterMs` later: the streams in flight
   * are served; the connection closes after the last.
   */
  private leave(client: Client, why: string, afterMs = 0): void {
    const s = client.session;
    if (client.leaving || client.calm || s.closed || s.destroyed) return;
    client.leaving = true;
    const go = (): void => {
      if (s.closed || s.destroyed) return;
      this.ctx.log.debug({ why, live: client.live }, 'h2: GOAWAY to a client session (its streams in flight finish)');
      s.close();
    };
    if (afterMs === 0) { go(); return; }
    const timer = setTimeout(go, afterMs);
    timer.unref();
    s.once('close', () => clearTimeout(timer));
  }

  accept(socket: Socket): void {
    this.accepting = socket;
    this.server.emit('connection', socket); // creates the session and emits 'session' at once
    this.accepting = null;
  }

  /**
   * The client's own h2c session to the app; a new one after the old one closed or got GOAWAY.
   * The app's GOAWAY is its own drain (or its limits): relayed to the client as our graceful
   * GOAWAY, so the client reconnects instead of reusing a connection to an app that is leaving
   * (istio#57357); the streams it has in flight finish first.
   */
  private session(client: Client): ClientHttp2Session {
    const cur = client.up;
    if (cur && !cur.closed && !cur.destroyed) return cur;
    const s = nodeHttp2().connect(this.upstream.origin, { settings: this.upSettings });
    s.on('error', (err) => this.ctx.log.debug({ err: err.message }, 'h2: app session error'));
    s.once('connect', () => { if (!s.destroyed) s.setLocalWindowSize(CONNECTION_WINDOW); }); // it may be gone already
    const forget = (): void => { if (client.up === s) client.up = null; };
    s.once('close', forget);
    s.once('goaway', () => { forget(); this.leave(client, 'the app sent GOAWAY'); });
    client.up = s;
    return s;
  }

  /**
   * Whether a new stream may go to the app. Beyond the limits it is refused (REFUSED_STREAM, which
   * tells the client it was not processed and may be retried) and counts against the client.
   * `live` catches what nghttp2's own MAX_CONCURRENT_STREAMS check cannot: it counts a stream as
   * closed the moment the client resets it, so HEADERS + RST_STREAM pairs (CVE-2023-44487) would
   * otherwise all reach the app, as many as fit in one read.
   */
  private admit(session: ServerHttp2Session, client: Client, stream: ServerHttp2Stream): boolean {
    const { maxConcurrentStreams, streamBuffer, connectionBuffer } = this.ctx.config.h2;
    // Past 3/4 of --max-buffered-bytes, a connection that holds unread bytes opens no more streams.
    if (!client.calm && client.live < maxConcurrentStreams && client.stalled * streamBuffer <= connectionBuffer && !client.held.throttled) return true;
    stream.on('error', ignore);
    stream.close(NGHTTP2_REFUSED_STREAM);
    if (!client.calm) this.countReset(session, client);
    return false;
  }

  /**
   * A client that keeps resetting the streams it opens, or opening more than it may, makes the app
   * work for nothing. Past `maxResets`, once such streams also outnumber the completed ones (so a
   * long-lived connection that cancels now and then is left alone), it gets GOAWAY
   * ENHANCE_YOUR_CALM and the connection closes with every stream of it, at the app too.
   */
  private countReset(session: ServerHttp2Session, client: Client): void {
    client.resets++;
    if (client.calm || client.resets <= this.ctx.config.h2.maxResets || client.resets <= client.completed) return;
    client.calm = true;
    const sock = session.socket;
    this.ctx.log.warn({ client: sock ? `${sock.remoteAddress}:${sock.remotePort}` : undefined, resets: client.resets, completed: client.completed },
      'h2: client resets too many streams, GOAWAY ENHANCE_YOUR_CALM');
    // GOAWAY at once: the rest of this read may hold hundreds more pairs, and nghttp2's own
    // reset limit would answer those with a GOAWAY INTERNAL_ERROR first. Every further stream is
    // refused (`calm`). The socket closes a second later, not at once: closing it with the
    // client's flood unread would send a TCP RST, which can discard the GOAWAY before the client
    // reads it.
    if (!session.destroyed && !session.closed) session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    setTimeout(() => { if (!session.destroyed) session.destroy(new Error('too many stream resets'), NGHTTP2_ENHANCE_YOUR_CALM); }, 1000).unref();
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void {
    const { drain, metrics } = this.ctx;
    const session = stream.session as ServerHttp2Session;
    const client = this.clients.get(session);
    if (!client) { stream.on('error', ignore); stream.close(NGHTTP2_REFUSED_STREAM); return; } // its session is closing
    client.seen++;
    if (!this.admit(session, client, stream)) return;
    // Terminating: a session that had no stream when it began is served a while from this one, then told to leave.
    if (drain.terminating) this.leave(client, 'terminating (a session opened since)', LEAVE_GRACE_MS);
    client.live++;
    drain.requestStarted();
    const start = performance.now();
    const grpc = isGrpc(headers['content-type']);
    let status = 0;
    let up: ClientHttp2Stream | null = null;
    let clientTrailers: IncomingHttpHeaders | null = null;
    let appTrailers: IncomingHttpHeaders | null = null;

    stream.once('close', () => {
      drain.requestFinished();
      client.live--;
      if (stream.rstCode === NGHTTP2_NO_ERROR) client.completed++;
      // The client reset the stream (or went away): pass the reset on to the app.
      if (up && !up.destroyed && !(up.readableEnded && up.writableFinished)) {
        resetStream(up, stream.rstCode || NGHTTP2_CANCEL);
        this.countReset(session, client);
      }
      metrics.requestDone(this.ctx.direction ?? DIR_INBOUND, grpc ? PROTO_GRPC : PROTO_HTTP2, stream.rstCode === NGHTTP2_NO_ERROR ? status : 0,
        (performance.now() - start) / 1000);
    });
    stream.on('error', ignore); // reported through 'close' and rstCode

    // RFC 9113 §8.3.1: a request whose Host names another authority than :authority is malformed.
    // Passed on, the app would see both and route by whichever it reads (HAProxy drops Host,
    // nginx answers 400 to any request that carries both).
    const host = headers.host;
    const authority = headers[':authority'];
    if (host !== undefined && authority !== undefined && String(host).toLowerCase() !== authority.toLowerCase()) {
      status = respondHttp2Error(stream, 'bad_request', grpc, 'Host differs from :authority');
      return;
    }

    const endStream = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    try {
      up = this.session(client).request(forwardHeaders(headers), endStream ? REQUEST_NO_BODY : REQUEST_WITH_BODY);
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
      forward(stream, u, client, () => { if (!stream.rstCode) u.end(); });
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
      forward(u, stream, client, () => { if (!u.rstCode) stream.end(); else resetStream(stream, u.rstCode); }, client.held);
    });

    u.on('error', (err: NodeJS.ErrnoException) => {
      if (stream.destroyed) return;
      if (u.rstCode === NGHTTP2_REFUSED_STREAM && !stream.headersSent) stream.close(NGHTTP2_REFUSED_STREAM); // see 'close'
      else if (!stream.headersSent) status = respondHttp2Error(stream, classifyUpstreamError(err), grpc);
      else resetStream(stream, u.rstCode);
    });
    u.once('close', () => {
      if (stream.destroyed) return;
      const code = u.rstCode;
      if (code === undefined || code === NGHTTP2_NO_ERROR) {
        if (!stream.headersSent) status = respondHttp2Error(stream, 'upstream_reset', grpc);
        return;
      }
      // The app reset the stream. REFUSED_STREAM before any response means the app did not
      // process it (RFC 9113 §8.7): pass that on, so the client knows it may retry it. Otherwise,
      // before any response, answer in the protocol's terms (gRPC: UNAVAILABLE, which a client
      // may retry); after, reset the client's stream too.
      if (code === NGHTTP2_REFUSED_STREAM && !stream.headersSent) stream.close(NGHTTP2_REFUSED_STREAM);
      else if (!stream.headersSent) status = respondHttp2Error(stream, 'upstream_reset', grpc, `RST_STREAM ${code}`);
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
 * While `dst` is full the stream counts as stalled for its client: its window may fill in the proxy.
 * Towards the client (`held`), every chunk counts against --max-buffered-bytes until it is sent,
 * and a stalled stream its window to the app too; under budget pressure the next chunk is read from
 * the app only once the last one was sent.
 */
function forward(src: Http2Stream, dst: Http2Stream, client: Client, onEnd: () => void, held?: BudgetHolder): void {
  let stalled = false;
  let waits = 0; // why `src` is paused: `dst` full, a throttled chunk not sent yet
  let unsent = 0; // bytes of `held` written to `dst` and not sent yet
  let closed = false;
  // A stalled stream towards the client also counts its window to the app against the budget: the
  // app may fill it while the stream waits, and the proxy holds what it sends.
  let reserved = 0;
  const unstall = (): void => {
    if (!stalled) return;
    stalled = false;
    client.stalled--;
    held?.release(reserved);
    reserved = 0;
  };
  const wait = (): void => { if (waits++ === 0) src.pause(); };
  const go = (): void => { if (--waits === 0) src.resume(); };
  src.on('data', (chunk: Buffer) => {
    if (dst.destroyed || dst.writableEnded) return;
    let ok: boolean;
    if (held) {
      const n = chunk.length;
      if (!held.hold(n)) return; // the budget closed this connection
      unsent += n;
      const throttled = held.throttled;
      if (throttled) { held.budget.throttledChunks++; wait(); }
      ok = dst.write(chunk, () => {
        if (!closed) { unsent -= n; held.release(n); }
        if (throttled) go();
      });
    } else {
      ok = dst.write(chunk);
    }
    if (!ok) {
      if (!stalled) {
        stalled = true;
        client.stalled++;
        if (held) {
          const window = client.streamBuffer;
          if (!held.hold(window)) return; // the budget closed this connection
          reserved = window;
        }
      }
      wait();
      dst.once('drain', () => { unstall(); go(); });
    }
  });
  src.once('end', onEnd);
  dst.once('close', () => {
    unstall();
    closed = true;
    held?.release(unsent); // a stream reset with bytes unsent: they are dropped
    unsent = 0;
  });
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
  const sensitive = (h as Record<symbol, unknown>)[nodeHttp2().sensitiveHeaders];
  if (sensitive !== undefined) (out as Record<symbol, unknown>)[nodeHttp2().sensitiveHeaders] = sensitive;
  return out;
}
