import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { DIR_INBOUND, DIRECTIONS, PROTO_HTTP1 } from '../admin/metrics.js';
import { classifyUpstreamError, http1ErrorBytes, httpStatusFor, writeHttp1Error, type ProxyErrorCause } from './errors.js';
import { checkRequestHead } from './http1-request.js';
import { forwardableRawBufferHeaders, forwardableRawHeaders, forwardableRequestHeaders } from './headers.js';
import { splice } from './tcp.js';
import { kHandle, type ProxyContext, type TrackedSocket } from './context.js';
import type { Upstream } from './upstream.js';
import type { BudgetHolder } from './budget.js';

/**
 * HTTP/1.1 from client to app, and what "graceful" means for it:
 * - terminating (from the proxy's preStop at t0, and through waiting): every response carries
 *   `Connection: close` and idle keep-alive connections are closed, so keep-alive clients
 *   reconnect (and land on another pod once their endpoint view is fresh);
 * - draining: idle keep-alive connections are closed at once, busy ones after their response;
 *   a request that still arrives on an open connection gets a fast 503 with `Connection: close`
 *   (this pod's endpoint is going away; the client should retry elsewhere, and a drain must not be
 *   held open by keep-alive clients that keep sending).
 * Either way nothing already read from a client is dropped: whether a response closes the
 * connection is decided as its head goes out, and only the response to the last request received
 * on the connection does; requests pipelined behind it are answered first (served, or 503).
 */
const kConn = Symbol('ebb.h1conn');
/** How long a connection answered with a parse error or 408 may stay open for its client to read the answer and close. */
const FAILED_LINGER_MS = 5_000;

interface ConnState {
  readonly socket: Socket;
  /** The app answered a request on this connection with Connection: close: it is leaving (its own drain). */
  appClosing?: boolean;
  active: number;
  upgraded: boolean;
  /** Requests received on this connection so far; each request's number is its position. */
  received: number;
  /** A response that closes the connection has started: later requests get no answer (RFC 9112 §9.6). */
  closing: boolean;
  /**
   * Bookkeeping of the responses not over yet, run when the connection closes: node:http never
   * closes a response still queued behind another (pipelining) when the client goes away.
   */
  readonly pending: Set<() => void>;
  /**
   * Requests admitted but not yet forwarded, in order: at most --max-app-connections-per-client
   * are forwarded at once (`forwarding`), so one client's pipelined burst is not a burst of app
   * connections. HAProxy and nginx forward one at a time.
   */
  readonly queue: Array<() => void>;
  forwarding: number;
  /** Reading paused at --max-pipelined requests not yet answered. */
  paused: boolean;
  /**
   * The parser refused bytes behind requests not answered yet: this error answer goes out after
   * theirs, then the connection closes (writing it at once would land inside a response).
   */
  failed: string | null;
  /** The last request admitted, and its bookkeeping: a parse error inside its body cuts it short. */
  last: { req: IncomingMessage; finish: (status?: number) => void } | null;
  cut: ((status?: number) => void) | null;
  /** What waits for no response to be due (an upgrade, in turn). */
  readonly idle: Array<() => void>;
  /** Its share of --max-buffered-bytes: response bytes not yet taken by its socket. */
  readonly held: BudgetHolder;
  /** Lets go of the connection (its listeners, count and budget holder): it goes back to the fast engine. */
  release: (() => void) | null;
}
type H1Socket = TrackedSocket & { [kConn]?: ConnState };

export class Http1Proxy {
  readonly server: http.Server;
  private readonly conns = new Set<ConnState>();

  /**
   * `handBack`: where a connection goes once an upgrade or CONNECT was refused and it is HTTP
   * again (the fast engine, which handed it over), with the bytes read behind the head put back.
   * Without one it stays here, on node:http.
   */
  constructor(readonly ctx: ProxyContext, readonly upstream: Upstream, private readonly handBack: ((socket: Socket) => void) | null = null) {
    const limits = ctx.config.http1;
    this.server = http.createServer({
      keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000, // 0 = none
      headersTimeout: limits.requestHeaderTimeoutSeconds * 1000, // 0 = none
      // How often node looks for expired request heads: a tenth of the timeout, at most 1 s.
      connectionsCheckingInterval: Math.min(1000, Math.max(50, limits.requestHeaderTimeoutSeconds * 100)),
      requestTimeout: 0, // large uploads may take as long as they take
      maxHeaderSize: limits.maxHeaderBytes,
      noDelay: true,
    });
    // One past the limit, so that a request over it is seen (and answered 431) rather than cut.
    this.server.maxHeadersCount = limits.maxHeaderCount + 1;
    // A client that half-closes after its request (shutdown(SHUT_WR)) still gets its answers;
    // node's default would abort them and close. The connection closes after the last one.
    (this.server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    // node's request-head timer (headersTimeout) runs only on a server that listen()ed; this one
    // never does (connections are handed over after detection), so start it as listen() would.
    this.server.emit('listening');
    this.server.on('request', (req, res) => this.onRequest(req, res));
    this.server.on('checkContinue', (req, res) => this.onExpectContinue(req, res));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('connect', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    // Unsubscribed when the upstream closes (a transparent route that went idle), so it can be freed.
    // From 'terminating' on (the proxy's preStop at t0, or any trigger) every response carries
    // Connection: close (`beforeHead`) and idle keep-alive connections close now, so clients
    // reconnect (through kube-proxy: to a pod that is not leaving, once their endpoints are fresh)
    // instead of reusing a connection to a pod whose app may be gone by their next request.
    upstream.onClose(ctx.drain.on('terminating', () => this.closeIdle()));
    upstream.onClose(ctx.drain.on('draining', () => this.closeIdle()));
    upstream.onClose(() => this.server.close()); // stops the request-head timer
  }

  /** Takes a connection whose first bytes looked like HTTP/1 (already unshifted back). */
  accept(socket: Socket): void {
    const state: ConnState = {
      socket, active: 0, upgraded: false, received: 0, closing: false, pending: new Set(),
      queue: [], forwarding: 0, paused: false, failed: null, last: null, cut: null, idle: [],
      held: this.ctx.budget.connection('http1', () => socket.destroy()),
      release: null,
    };
    (socket as H1Socket)[kConn] = state;
    this.conns.add(state);
    const onClose = (): void => {
      this.conns.delete(state);
      for (const finish of [...state.pending]) finish();
      state.held.close();
    };
    const onEnd = (): void => {
      if (state.active > 0) this.ctx.log.debug({ inFlight: state.active }, 'http1: client half-closed; answering its requests, then closing');
    };
    socket.once('close', onClose);
    socket.once('end', onEnd);
    state.release = (): void => {
      socket.off('close', onClose);
      socket.off('end', onEnd);
      this.conns.delete(state);
      state.held.close();
      delete (socket as H1Socket)[kConn];
    };
    this.server.emit('connection', socket);
    socket.resume(); // detection paused it; the bytes it read were put back
  }

  /**
   * node's parser refused the bytes (or the head timed out): the answer goes straight to the
   * socket and closes it, since what follows on it can no longer be framed.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    const cause: ProxyErrorCause = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout'
      : err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request';
    this.ctx.log.debug({ err: err.code ?? err.message, cause }, 'http1: client request refused');
    const state = (socket as H1Socket)[kConn];
    if (!state) { socket.end(http1ErrorBytes(cause)); return; }
    if (state.failed !== null) return;
    // Answered after the responses still due on this connection (see `settleFailed`), and nothing
    // more is read. A request whose body the error cut short is not one of them: the error is its answer.
    state.failed = http1ErrorBytes(cause);
    state.cut = state.last && !state.last.req.complete ? state.last.finish : null;
    socket.pause();
    this.settleFailed(state);
  }

  private settleFailed(state: ConnState): void {
    if (!state.failed) return;
    const cutOpen = state.cut !== null && state.pending.has(state.cut);
    if (state.active - (cutOpen ? 1 : 0) > 0) return;
    const bytes = state.failed;
    state.failed = '';
    if (cutOpen) state.cut!(400);
    state.socket.end(bytes);
    // Read on (what arrives is refused again and dropped) so the client's FIN is seen and the
    // connection closes; paused, it kept its fd and drain handle after the client had gone.
    // One that never closes is cut after a bounded linger.
    state.socket.resume();
    setTimeout(() => state.socket.destroy(), FAILED_LINGER_MS).unref();
  }

  /**
   * Runs `forward` once fewer than --max-app-connections-per-client requests of this connection
   * are with the app; `track` frees the slot when its response is over.
   */
  private whenSlot(state: ConnState, forward: () => void): void {
    state.queue.push(forward);
    this.pump(state);
  }

  private pump(state: ConnState): void {
    const max = this.ctx.config.http1.maxAppConnectionsPerClient;
    while (state.forwarding < max && state.queue.length > 0) {
      state.forwarding++;
      state.queue.shift()!();
    }
  }

  private closeIdle(): void {
    for (const c of this.conns) if (c.active === 0 && !c.upgraded) c.socket.destroy();
  }

  /**
   * The start every request shares: not processed after a closing response, counted, and refused
   * at once (503) while draining. Returns what forwarding it needs, or null when it is dealt with.
   */
  private admit(req: IncomingMessage, res: ServerResponse): { state: ConnState; start: number; beforeHead: (appClose?: boolean) => void; path: string } | null {
    const drain = this.ctx.drain;
    const state = (req.socket as H1Socket)[kConn]!;
    if (this.afterClose(req, state)) return null;
    const seq = ++state.received;
    drain.requestStarted();
    state.active++;
    // Enough read ahead on this connection: stop reading until one is answered (`track`).
    if (state.active >= this.ctx.config.http1.maxPipelined) pauseReading(state);
    const start = performance.now();
    const beforeHead = (appClose = false): void => this.beforeHead(res, state, seq, appClose);
    const head = checkRequestHead(req.method!, req.url!, req.rawHeaders, this.ctx.config.http1);
    if (head.problem) {
      // Answered in turn, after the responses ahead of it, and the connection closes after it.
      this.ctx.log.debug({ method: req.method, status: head.problem.status, detail: head.problem.detail }, 'http1: request refused');
      this.track(res, state, start, head.problem.status);
      res.shouldKeepAlive = false;
      req.resume();
      beforeHead();
      writeHttp1Error(res, head.problem.status === 431 ? 'headers_too_large' : head.problem.status === 414 ? 'uri_too_long' : 'bad_request', head.problem.detail);
      return null;
    }
    if (!drain.serving) {
      this.track(res, state, start, 503);
      refuse(res, beforeHead);
      return null;
    }
    return { state, start, beforeHead, path: head.path };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const admitted = this.admit(req, res);
    if (!admitted) return;
    // `OPTIONS *` goes through node:http: undici takes only origin-form paths.
    if (admitted.path === '*') { this.forwardWithNodeHttp(req, res, admitted); return; }
    const { state, start, beforeHead, path } = admitted;
    const { headers, hasBody } = forwardableRequestHeaders(req.rawHeaders);
    const handler = new ForwardHandler(res, beforeHead, state.held);
    const slot: Slot = { taken: false, over: false };
    this.track(res, state, start, handler, slot);
    this.whenSlot(state, () => {
      slot.taken = true;
      if (slot.over || res.destroyed) { this.freeSlot(state, slot); return; } // the client went away while it waited
      this.upstream.pool.dispatch({
        path,
        method: req.method!,
        headers,
        body: hasBody ? req : null,
      }, handler as unknown as Dispatcher.DispatchHandler);
    });
  }

  private freeSlot(state: ConnState, slot: Slot): void {
    if (!slot.taken) return;
    slot.taken = false;
    state.forwarding--;
    // On the next turn: undici frees the app connection only after the response's last callback,
    // and the next request should reuse it rather than open another.
    setImmediate(() => this.pump(state));
  }

  /**
   * A request parsed after a response that closes the connection started (the client pipelined it
   * in the moment before that head went out): node:http never writes its response, so it is not
   * forwarded either. The client sees the close after the last answered request and, as RFC 9112
   * §9.3.2 asks of pipelining clients, retries the unanswered ones; the app never saw them.
   */
  private afterClose(req: IncomingMessage, state: ConnState): boolean {
    if (!state.closing) return false;
    this.ctx.log.debug({ method: req.method, url: req.url }, 'http1: request after a Connection: close response; not processed');
    req.resume();
    return true;
  }

  /**
   * Called just before a response head is written: once the pod is terminating, the response to the
   * last request received on the connection carries Connection: close (node:http then closes the
   * connection after it); responses to earlier ones stay keep-alive, so the ones queued behind them
   * still go out.
   */
  private beforeHead(res: ServerResponse, state: ConnState, seq: number, appClose: boolean): void {
    // The app's own drain, relayed: Connection: close is hop-by-hop, so without this the client
    // would keep reusing a connection to an app that is leaving (istio#57357). Same rule as ours:
    // the response to the last request received closes the connection.
    if (appClose) state.appClosing = true;
    if ((this.ctx.drain.terminating || state.appClosing === true) && seq === state.received) res.shouldKeepAlive = false;
    if (!res.shouldKeepAlive) state.closing = true;
  }

  /** Bookkeeping when the response is over, whichever way it ended. */
  private track(res: ServerResponse, state: ConnState, start: number, status: number | StatusSource, slot?: Slot): void {
    const finish = (override?: number): void => {
      if (!state.pending.delete(finish)) return; // once: the response's close or the connection's
      const drain = this.ctx.drain;
      drain.requestFinished();
      state.active--;
      if (slot) { slot.over = true; this.freeSlot(state, slot); }
      if (state.active === 0 && state.idle.length > 0) for (const fn of state.idle.splice(0)) fn();
      if (state.failed !== null) this.settleFailed(state);
      else if (state.paused && state.active < this.ctx.config.http1.maxPipelined) resumeReading(state);
      const done = typeof status === 'number' ? status : status.done(res);
      const code = override ?? done;
      this.ctx.metrics.requestDone(this.ctx.direction ?? DIR_INBOUND, PROTO_HTTP1, code, (performance.now() - start) / 1000);
      // A response that started before draining went out keep-alive; close the connection now.
      if (drain.phase === 'draining' && state.active === 0 && !state.upgraded) state.socket.destroySoon();
    };
    state.pending.add(finish);
    state.last = { req: res.req, finish };
    res.once('close', () => finish());
  }

  /**
   * Expect: 100-continue goes through node:http, which relays the app's own 100 (undici cannot).
   * While draining it is refused like any new request, before any 100: the client has not sent
   * its body, learns that it should not, and may retry elsewhere.
   */
  private onExpectContinue(req: IncomingMessage, res: ServerResponse): void {
    const admitted = this.admit(req, res);
    if (admitted) this.forwardWithNodeHttp(req, res, admitted);
  }

  /** The path for what undici cannot carry: Expect: 100-continue, `OPTIONS *`. */
  private forwardWithNodeHttp(req: IncomingMessage, res: ServerResponse, admitted: { state: ConnState; start: number; beforeHead: (appClose?: boolean) => void; path: string }): void {
    const { state, start, beforeHead, path } = admitted;
    const slot: Slot = { taken: false, over: false };
    const result = {
      status: 0,
      over: false,
      done: (r: ServerResponse): number => {
        if (!r.writableFinished) { result.over = true; up?.destroy(); } // the client went away: so does the app's request
        return r.writableFinished ? result.status : 0;
      },
    };
    let up: http.ClientRequest | null = null;
    this.track(res, state, start, result, slot);
    this.whenSlot(state, () => {
      slot.taken = true;
      if (slot.over || res.destroyed) { this.freeSlot(state, slot); return; }
      up = this.requestWithNodeHttp(req, res, path, result, beforeHead);
    });
  }

  private requestWithNodeHttp(req: IncomingMessage, res: ServerResponse, path: string, result: { status: number; over: boolean }, beforeHead: (appClose?: boolean) => void): http.ClientRequest {
    const up = http.request({
      host: this.upstream.host,
      port: this.upstream.port,
      method: req.method,
      path,
      headers: forwardableRawHeaders(req.rawHeaders),
      agent: this.upstream.agent,
      setHost: false,
    });
    const timeoutS = this.ctx.config.upstreamTimeoutSeconds;
    if (timeoutS > 0) {
      const timer = setTimeout(() => up.destroy(Object.assign(new Error('no response headers in time'), { code: 'ETIMEDOUT' })), timeoutS * 1000);
      up.once('response', () => clearTimeout(timer));
      up.once('close', () => clearTimeout(timer));
    }
    up.on('continue', () => res.writeContinue());
    up.on('response', (ures) => {
      if (result.over) { ures.resume(); return; }
      result.status = ures.statusCode ?? 0;
      beforeHead(/(^|,)\s*close\s*(,|$)/i.test(String(ures.headers.connection ?? '')));
      res.writeHead(result.status, ures.statusMessage, forwardableRawHeaders(ures.rawHeaders));
      ures.pipe(res);
      ures.on('error', () => res.destroy());
      ures.on('aborted', () => res.destroy());
    });
    up.on('error', (err) => {
      if (result.over || res.destroyed) return;
      if (res.headersSent) { res.destroy(err); return; }
      const cause = classifyUpstreamError(err);
      result.status = httpStatusFor(cause);
      beforeHead();
      writeHttp1Error(res, cause);
    });
    req.pipe(up);
    return up;
  }

  /**
   * Upgrades (WebSocket, h2c) and CONNECT. node:http hands over the socket with the head parsed;
   * the request goes to the app in turn (after the responses ahead of it), and the connection
   * becomes a tunnel only once the app agrees: 101 for an upgrade, 2xx for CONNECT. Any other
   * answer is relayed as an ordinary response and the connection goes back to HTTP, so what the
   * client pipelined behind it is parsed, forwarded and counted like any request.
   */
  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const s = socket as H1Socket;
    const state = s[kConn];
    if (!state) { socket.destroy(); return; }
    state.upgraded = true; // not idle while its answer is due: draining does not close it
    state.received++;
    const drain = this.ctx.drain;
    drain.requestStarted();
    const start = performance.now();
    let over = false;
    const finish = (status: number): void => {
      if (over) return;
      over = true;
      drain.requestFinished();
      this.ctx.metrics.requestDone(this.ctx.direction ?? DIR_INBOUND, PROTO_HTTP1, status, (performance.now() - start) / 1000);
    };
    // One listener per upgrade, removed when the connection goes back to HTTP (backToHttp).
    const pending: PendingUpgrade = { up: null, onClose: () => { finish(0); pending.up?.destroy(); } };
    socket.once('close', pending.onClose);
    const refuse = (cause: ProxyErrorCause, status: number): void => { finish(status); socket.end(http1ErrorBytes(cause)); };
    const checked = req.method === 'CONNECT' ? null : checkRequestHead(req.method!, req.url!, req.rawHeaders, this.ctx.config.http1);
    if (checked?.problem) {
      refuse(checked.problem.status === 431 ? 'headers_too_large' : checked.problem.status === 414 ? 'uri_too_long' : 'bad_request', checked.problem.status);
      return;
    }
    this.whenIdle(state, () => {
      if (socket.destroyed) return;
      if (!drain.serving) { refuse('shutting_down', 503); return; }
      this.forwardUpgrade(req, socket, head, state, checked?.path ?? req.url!, finish, pending);
    });
  }

  /** Runs `fn` once no response is due on the connection (at once when none is). */
  private whenIdle(state: ConnState, fn: () => void): void {
    if (state.active === 0) fn();
    else state.idle.push(fn);
  }

  private forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, state: ConnState, path: string, finish: (status: number) => void, pending: PendingUpgrade): void {
    const connect = req.method === 'CONNECT';
    const headers = forwardableRawHeaders(req.rawHeaders);
    if (!connect) {
      const upgrade = req.headers.upgrade;
      headers.push('Connection', 'Upgrade', 'Upgrade', Array.isArray(upgrade) ? upgrade.join(', ') : upgrade ?? '');
    }
    const up = http.request({
      host: this.upstream.host,
      port: this.upstream.port,
      method: req.method,
      path,
      headers,
      agent: false, // its own connection: it may become a tunnel
      setHost: false,
    });
    const timeoutS = this.ctx.config.upstreamTimeoutSeconds;
    const timer = timeoutS > 0
      ? setTimeout(() => up.destroy(Object.assign(new Error('no response headers in time'), { code: 'ETIMEDOUT' })), timeoutS * 1000)
      : null;
    const answered = (): void => { if (timer) clearTimeout(timer); };
    pending.up = up;
    up.on('upgrade', (ures: IncomingMessage, usock: Socket, uhead: Buffer) => {
      answered();
      this.tunnel(socket, usock, ures, uhead, head, finish);
    });
    up.on('connect', (ures: IncomingMessage, usock: Socket, uhead: Buffer) => {
      answered();
      const status = ures.statusCode ?? 0;
      if (status >= 200 && status < 300) this.tunnel(socket, usock, ures, uhead, head, finish);
      else this.relayConnectRefusal(socket, usock, ures, uhead, head, state, finish, pending);
    });
    up.on('response', (ures) => {
      answered();
      this.relayResponse(socket, ures, req.method === 'HEAD', head, state, finish, pending);
    });
    up.on('error', (err) => {
      answered();
      if (socket.destroyed) return;
      const cause = classifyUpstreamError(err);
      finish(httpStatusFor(cause));
      socket.end(http1ErrorBytes(cause));
    });
    up.end();
  }

  /** The app agreed: its answer's head goes to the client, then bytes flow both ways until either side ends. */
  private tunnel(socket: Duplex, usock: Socket, ures: IncomingMessage, uhead: Buffer, head: Buffer, finish: (status: number) => void): void {
    const s = socket as H1Socket;
    s[kHandle]?.setKind(`${DIRECTIONS[this.ctx.direction ?? DIR_INBOUND]}:upgraded`);
    (socket as Socket).setTimeout(0);
    socket.write(responseHead(ures, ures.rawHeaders));
    if (uhead.length > 0) socket.write(uhead);
    if (head.length > 0) usock.write(head);
    finish(ures.statusCode ?? 0);
    splice(this.ctx, socket, usock, this.upstream.port);
    socket.pipe(usock);
    usock.pipe(socket);
  }

  /** An upgrade the app answered like any request: relayed with framing of the proxy's own, then back to HTTP. */
  private relayResponse(socket: Duplex, ures: IncomingMessage, isHead: boolean, head: Buffer, state: ConnState, finish: (status: number) => void, pending: PendingUpgrade): void {
    const status = ures.statusCode ?? 0;
    const headers = forwardableRawHeaders(ures.rawHeaders);
    const bodyless = isHead || status === 204 || status === 304;
    const chunked = !bodyless && ures.headers['content-length'] === undefined;
    if (chunked) headers.push('Transfer-Encoding', 'chunked');
    const close = this.ctx.drain.terminating;
    headers.push('Connection', close ? 'close' : 'keep-alive');
    socket.write(responseHead(ures, headers));
    ures.on('data', (d: Buffer) => {
      const ok = socket.write(chunked ? Buffer.concat([Buffer.from(`${d.length.toString(16)}\r\n`), d, CRLF]) : d);
      if (!ok) { ures.pause(); socket.once('drain', () => ures.resume()); }
    });
    ures.on('end', () => {
      if (chunked) socket.write('0\r\n\r\n');
      finish(status);
      if (close) socket.end();
      else this.backToHttp(socket, head, state, pending);
    });
    ures.on('aborted', () => socket.destroy());
    ures.on('error', () => socket.destroy());
  }

  /**
   * A refused CONNECT: node's client hands over the app's connection with the body unparsed, so
   * the proxy frames it by its Content-Length (or, without one, reads it to the end and closes).
   */
  private relayConnectRefusal(socket: Duplex, usock: Socket, ures: IncomingMessage, uhead: Buffer, head: Buffer, state: ConnState, finish: (status: number) => void, pending: PendingUpgrade): void {
    const status = ures.statusCode ?? 0;
    const headers = forwardableRawHeaders(ures.rawHeaders);
    const lengthHeader = ures.headers['content-length'];
    const length = status === 204 || status === 304 ? 0 : lengthHeader === undefined ? null : Number(lengthHeader);
    const close = length === null || !Number.isSafeInteger(length) || this.ctx.drain.terminating;
    headers.push('Connection', close ? 'close' : 'keep-alive');
    socket.write(responseHead(ures, headers));
    if (length === null || !Number.isSafeInteger(length)) {
      socket.write(uhead);
      usock.pipe(socket);
      usock.once('end', () => finish(status));
      usock.on('error', () => socket.destroy());
      return;
    }
    let left = length;
    const take = (b: Buffer): void => {
      const part = b.subarray(0, left);
      left -= part.length;
      if (part.length > 0) socket.write(part);
      if (left > 0) return;
      usock.off('data', take);
      usock.destroy();
      finish(status);
      if (close) socket.end();
      else this.backToHttp(socket, head, state, pending);
    };
    usock.on('data', take);
    usock.on('error', () => { if (left > 0) socket.destroy(); });
    take(uhead);
  }

  /** Hands a connection node:http gave up for an upgrade back to it, with the bytes read behind the head. */
  private backToHttp(socket: Duplex, head: Buffer, state: ConnState, pending: PendingUpgrade): void {
    socket.off('close', pending.onClose);
    state.upgraded = false;
    state.paused = false;
    (socket as NodeHttpSocket)._paused = false;
    if (head.length > 0) socket.unshift(head);
    // Nothing is due on it (the upgrade waited for every response ahead of it, and node:http read
    // nothing behind its head), so the engine that handed it over takes it back: the requests
    // behind a refused upgrade do not load undici nor open pool connections of their own.
    if (this.handBack && state.release) {
      state.release();
      this.handBack(socket as Socket);
      return;
    }
    this.server.emit('connection', socket);
    socket.resume();
  }
}

/**
 * Reading from a client paused the way node:http pauses it itself when responses back up
 * (`_paused`, which its own resume paths respect): set inside the request event, it also pauses
 * the parser, so requests already in the chunk being parsed wait too.
 */
type NodeHttpSocket = Socket & { _paused?: boolean; parser?: { pause(): void; resume(): void } | null };
function pauseReading(state: ConnState): void {
  const s = state.socket as NodeHttpSocket;
  state.paused = true;
  if (s._paused) return;
  s._paused = true;
  s.pause();
}
function resumeReading(state: ConnState): void {
  const s = state.socket as NodeHttpSocket;
  state.paused = false;
  if (!s._paused) return;
  s._paused = false;
  s.parser?.resume();
  s.resume();
}

const CRLF = Buffer.from('\r\n');

/** An upgrade waiting for the app's answer: its request to the app, and what its client's close does. */
interface PendingUpgrade { up: http.ClientRequest | null; readonly onClose: () => void }

/** A response head as bytes: the app's status line and the given flat header list. */
function responseHead(ures: IncomingMessage, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${ures.statusCode} ${ures.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}

interface StatusSource { done(res: ServerResponse): number }
/** A request's place among those forwarded at once: `taken` while it holds one, `over` once answered. */
interface Slot { taken: boolean; over: boolean }

/**
 * The fast 503 while draining. Its head is written once the responses ahead of it on the
 * connection are out (node:http assigns it the socket then) and the bytes read so far are parsed,
 * so that requests pipelined behind it are counted and answered too before one response closes.
 */
function refuse(res: ServerResponse, beforeHead: () => void): void {
  const write = (): void => {
    if (res.destroyed || res.headersSent) return;
    beforeHead();
    writeHttp1Error(res, 'shutting_down');
  };
  if (res.socket) setImmediate(write);
  else res.once('socket', () => setImmediate(write));
}

/**
 * An undici dispatch handler (the callback API, no stream objects in between) that writes the
 * app's response straight into the client's response, with backpressure both ways.
 */
class ForwardHandler implements StatusSource {
  private abort: ((err?: Error) => void) | null = null;
  private resume: (() => void) | null = null;
  private status = 0;
  private over = false;
  /** Why the app side is paused: the response is full ('drain'), a throttled chunk not yet taken. */
  private waits = 0;
  /** Bytes of `held` written to the response and not yet taken by the socket. */
  private untaken = 0;

  /**
   * `beforeHead` runs just before the response head is written (it decides Connection: close);
   * `held` counts the body's bytes against --max-buffered-bytes until the client's socket takes them.
   */
  constructor(private readonly res: ServerResponse, private readonly beforeHead: (appClose?: boolean) => void, private readonly held: BudgetHolder) {}

  /** Called when the client's response closed; returns the status for metrics (0 = none). */
  done(res: ServerResponse): number {
    this.held.release(this.untaken); // taken by now, or dropped with the connection
    this.untaken = -Infinity; // later write callbacks release nothing
    if (!res.writableFinished) {
      this.over = true; // nothing more may be written for it
      this.abort?.(new Error('client went away'));
    }
    return res.writableFinished ? this.status : 0;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // informational (103): not relayed
    this.status = statusCode;
    this.resume = resume;
    if (this.res.destroyed || this.over) return false;
    this.beforeHead(asksToClose(rawHeaders));
    this.res.writeHead(statusCode, statusText || undefined, forwardableRawBufferHeaders(rawHeaders));
    return true;
  }

  /**
   * Returning false pauses the app's side until `resume`. Under budget pressure (see budget.ts) a
   * chunk waits for the socket to take the previous one, so a client that does not read gets no
   * more from the app; one that reads goes on, a chunk at a time.
   */
  onData(chunk: Buffer): boolean {
    const held = this.held;
    const n = chunk.length;
    if (!held.hold(n)) return false; // the budget closed this connection
    this.untaken += n;
    const throttled = held.throttled;
    if (throttled) { held.budget.throttledChunks++; this.waits++; }
    const ok = this.res.write(chunk, () => {
      if (this.untaken >= n) { this.untaken -= n; held.release(n); }
      if (throttled) this.go();
    });
    if (!ok) { this.waits++; this.res.once('drain', () => this.go()); }
    return this.waits === 0;
  }

  private go(): void {
    if (--this.waits === 0) this.resume?.();
  }

  onComplete(trailers: Buffer[] | null): void {
    if (trailers && trailers.length > 0 && this.res.chunkedEncoding) {
      const t: Record<string, string> = {};
      for (let i = 0; i < trailers.length; i += 2) t[trailers[i]!.toString('latin1')] = trailers[i + 1]!.toString('latin1');
      this.res.addTrailers(t);
    }
    this.res.end();
  }

  onError(err: Error): void {
    const res = this.res;
    // Part of the response is out: cut the connection so the client sees an aborted response
    // (a truncated body) rather than a clean end or a hang.
    if (this.over || res.destroyed) return;
    if (res.headersSent) { res.destroy(err); return; }
    const cause = classifyUpstreamError(err);
    this.status = httpStatusFor(cause);
    this.beforeHead();
    writeHttp1Error(res, cause);
  }
}

/** Does a response's Connection header (raw name/value pairs) say close? */
function asksToClose(rawHeaders: Buffer[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === 10 && rawHeaders[i]!.toString('latin1').toLowerCase() === 'connection'
      && /(^|,)\s*close\s*(,|$)/i.test(rawHeaders[i + 1]!.toString('latin1'))) return true;
  }
  return false;
}
