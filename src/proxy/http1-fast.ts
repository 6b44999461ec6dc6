import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { DIR_INBOUND, PROTO_HTTP1 } from '../admin/metrics.js';
import { classifyUpstreamError, http1ErrorBytes, http1ErrorResponse, httpStatusFor, type ProxyErrorCause } from './errors.js';
import { checkRequestHead } from './http1-request.js';
import { forwardableRawHeaders } from './headers.js';
import { Http1Proxy } from './http1.js';
import { loadLlhttp, type Llhttp, type LlhttpError, type LlhttpParser } from './llhttp.js';
import type { ProxyContext, TrackedSocket } from './context.js';
import type { Upstream } from './upstream.js';
import type { BudgetHolder } from './budget.js';

/**
 * The fast HTTP/1 engine (`--http1-engine fast`): the same behaviour as http1.ts (which it hands
 * the rare cases to), without node:http's IncomingMessage/ServerResponse or undici's request
 * objects. Node's own llhttp (llhttp.ts) parses request heads and bodies from the client's bytes
 * and response heads and bodies from the app's; the request head goes to a pooled keep-alive app
 * connection as bytes (hop-by-hop fields dropped), bodies go as bytes with framing of their own
 * (Content-Length as is, chunked re-chunked), and only the response's head and framing are looked at.
 *
 * Graceful close is the same as http1.ts's: from 'terminating' on (the proxy's preStop, through
 * waiting), the response to the last request received on a connection carries Connection: close
 * and idle keep-alive connections close; while draining, idle connections close at
 * once, busy ones after their response, and a request that still arrives gets a fast 503 in turn.
 *
 * Handed to http1.ts (the node:http engine), once nothing is in flight on the connection, with the
 * request head re-serialised and the bytes behind it: upgrades and CONNECT (a tunnel needs the
 * app's 101/2xx first), an Expect other than 100-continue (node:http answers 417), `OPTIONS *`.
 * The connection then stays with that engine.
 */

const FAILED_LINGER_MS = 5_000;
/** Bytes buffered for one request or response before the other side stops being read. */
const BUFFER_HIGH = 64 * 1024;
/** Idle app connections are closed after this long (before node's default 5 s server keep-alive). */
const APP_IDLE_MS = 4_000;
const APP_CONNECT_TIMEOUT_MS = 10_000;

// Why a client connection is not being read (a bit each).
const P_PIPELINE = 1; // --max-pipelined requests not answered
const P_BODY = 2; // the app is not taking the request body as fast as it comes
const P_FAILED = 4; // the answer to a refused request is due after the ones ahead of it
const P_HANDOVER = 8; // waiting to hand the connection to the node:http engine

interface Conn {
  readonly socket: TrackedSocket;
  readonly parser: LlhttpParser;
  /** Header fields (and trailers) the parser flushed before the message's head was complete. */
  headers: string[];
  url: string;
  /** Requests not yet answered to the client, in order: only the first writes to the socket. */
  readonly exchanges: Exchange[];
  /** The request whose body is being parsed. */
  current: Exchange | null;
  received: number;
  forwarding: number;
  readonly waiting: Exchange[];
  closing: boolean;
  appClosing: boolean;
  paused: number;
  failed: string | null;
  cut: Exchange | null;
  ended: boolean;
  dead: boolean;
  /** performance.now() when a request head began (0: none in progress), and when the connection went idle. */
  headStart: number;
  idleSince: number;
  /** Set once a request must go to the node:http engine: the bytes to give it. */
  handover: Buffer[] | null;
  keepAliveHeader: string;
  /** Response bytes collected while an app chunk is parsed (see Http1FastProxy.batchingClient), and whose they are. */
  batch: Buffer[] | null;
  batchFor: Exchange | null;
  /** Its share of --max-buffered-bytes: response bytes written towards it and not yet taken by its socket. */
  readonly held: BudgetHolder;
  /** Its socket listeners, removed at a handover. */
  onData?: (d: Buffer) => void;
  onEnd?: () => void;
  onClose?: () => void;
}

interface Exchange {
  readonly conn: Conn;
  readonly seq: number;
  readonly isHead: boolean;
  /** Expect: 100-continue: the app's 100 is relayed. */
  readonly expectContinue: boolean;
  readonly start: number;
  readonly clientKeepAlive: boolean;
  readonly http10: boolean;
  /** A proxy-made answer (400/431/503…) instead of the app's. */
  local: { cause: ProxyErrorCause; detail?: string } | null;
  reqChunked: boolean;
  reqDone: boolean;
  /** Request bytes (head first) waiting for an app connection. */
  reqBuf: Buffer[] | null;
  reqBufBytes: number;
  app: AppConn | null;
  slot: boolean;
  status: number;
  /** The response head without its Connection line (written when this exchange is first in line). */
  head: string | null;
  headSent: boolean;
  clientChunked: boolean;
  closeAfter: boolean;
  appClose: boolean;
  outBuf: Buffer[] | null;
  outBytes: number;
  respDone: boolean;
  over: boolean;
  timer: NodeJS.Timeout | null;
}

/** One keep-alive connection to the app and its response parser. */
interface AppConn {
  readonly socket: Socket;
  readonly parser: LlhttpParser;
  ex: Exchange | null;
  headers: string[];
  informational: boolean;
  keepAlive: boolean;
  idleSince: number;
  error: NodeJS.ErrnoException | null;
  /** Request bytes written while one client chunk is parsed, sent as one write after it. */
  batch: Buffer[] | null;
}

export class Http1FastProxy {
  private readonly ll: Llhttp;
  private readonly conns = new Set<Conn>();
  private readonly idleApp: AppConn[] = [];
  private readonly liveApp = new Set<AppConn>();
  private node: Http1Proxy | null = null;
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  /**
   * While one chunk is parsed, what it produces for the other side is collected and sent as one
   * write after it (a head and a small body in one syscall, not a writev of pieces): the app
   * connections written to while a client chunk is parsed, and the client connection being
   * written to while an app chunk is parsed.
   */
  private readonly batchedApps: AppConn[] = [];
  private batchingClient: Conn | null = null;
  private batchingApps = false;

  constructor(readonly ctx: ProxyContext, readonly upstream: Upstream) {
    const ll = loadLlhttp();
    if (!ll) throw new Error('the fast HTTP/1 engine needs node\'s llhttp (_http_common), which this Node does not have');
    this.ll = ll;
    const l = ctx.config.http1;
    // Head and keep-alive timeouts, checked like node:http checks its own: a tenth of the
    // shortest, at most 1 s, at least 50 ms.
    const shortest = Math.min(...[l.requestHeaderTimeoutSeconds, l.keepAliveTimeoutSeconds, APP_IDLE_MS / 1000].filter((s) => s > 0));
    this.sweep = setInterval(() => this.checkTimeouts(), Math.min(1000, Math.max(50, shortest * 100)));
    this.sweep.unref();
    // From 'terminating' on (the proxy's preStop, or any trigger) responses carry Connection: close
    // and idle keep-alive connections close, as in http1.ts.
    upstream.onClose(ctx.drain.on('terminating', () => this.closeIdle()));
    upstream.onClose(ctx.drain.on('draining', () => this.closeIdle()));
    upstream.onClose(() => this.close());
  }

  accept(socket: Socket): void {
    const ll = this.ll;
    const parser = new ll.Parser();
    parser.initialize(ll.REQUEST, {}, this.ctx.config.http1.maxHeaderBytes, ll.kLenientNone);
    const ka = this.ctx.config.http1.keepAliveTimeoutSeconds;
    const conn: Conn = {
      socket, parser, headers: [], url: '', exchanges: [], current: null, received: 0, forwarding: 0, waiting: [],
      closing: false, appClosing: false, paused: 0, failed: null, cut: null, ended: false, dead: false,
      headStart: performance.now(), idleSince: 0, handover: null, batch: null, batchFor: null,
      keepAliveHeader: ka > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(ka)}\r\n` : 'Connection: keep-alive\r\n',
      held: this.ctx.budget.connection('http1', () => socket.destroy()),
    };
    parser[ll.kOnMessageBegin] = (): void => { conn.headStart = performance.now(); conn.idleSince = 0; };
    parser[ll.kOnHeaders] = (headers: string[], url: string): void => {
      for (let i = 0; i < headers.length; i++) conn.headers.push(headers[i]!);
      conn.url += url;
    };
    parser[ll.kOnHeadersComplete] = (maj: number, min: number, headers: string[] | undefined, method: number, url: string | undefined,
      _s: unknown, _m: unknown, upgrade: boolean, keepAlive: boolean): number => {
      let h = headers;
      if (h === undefined) { h = conn.headers; conn.headers = []; } else if (conn.headers.length > 0) { h = conn.headers.concat(h); conn.headers = []; }
      const u = url === undefined ? conn.url : conn.url + url;
      conn.url = '';
      return this.onRequestHead(conn, maj, min, h, ll.methods[method] ?? '', u, upgrade, keepAlive);
    };
    parser[ll.kOnBody] = (b: Buffer): void => {
      const ex = conn.current;
      if (ex && !ex.local && !ex.over) this.sendRequestBytes(ex, ex.reqChunked ? chunk(b) : b);
    };
    parser[ll.kOnMessageComplete] = (): void => {
      conn.headers = []; // trailers of a chunked request body: not forwarded (as the node:http engine)
      const ex = conn.current;
      conn.current = null;
      if (!ex) return;
      ex.reqDone = true;
      if (ex.reqChunked && !ex.local && !ex.over) this.sendRequestBytes(ex, LAST_CHUNK);
    };
    this.conns.add(conn);
    conn.onData = (d: Buffer): void => this.onData(conn, d);
    conn.onEnd = (): void => this.onEnd(conn);
    conn.onClose = (): void => this.onClose(conn);
    socket.on('data', conn.onData);
    socket.on('end', conn.onEnd);
    socket.once('close', conn.onClose);
    socket.resume(); // detection paused it; the bytes it read were put back
  }

  private onData(conn: Conn, d: Buffer): void {
    if (conn.dead) return;
    if (conn.handover) { conn.handover.push(d); return; }
    conn.idleSince = 0;
    this.batchingApps = true;
    const r = conn.parser.execute(d);
    this.batchingApps = false;
    for (const a of this.batchedApps.splice(0)) this.flushApp(a);
    if (typeof r !== 'number') { this.refuseBytes(conn, (r as LlhttpError).code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request', r); return; }
    const handover = conn.handover as Buffer[] | null; // set by onRequestHead during execute()
    if (handover) {
      if (r < d.length) handover.push(d.subarray(r));
      this.maybeHandOver(conn);
    }
  }

  private onRequestHead(conn: Conn, maj: number, min: number, headers: string[], method: string, url: string, upgrade: boolean, keepAlive: boolean): number {
    conn.headStart = 0;
    if (conn.failed !== null || conn.dead) return 1;
    if (conn.closing) {
      // After a response that closes the connection: never answered, so never forwarded either
      // (the client retries it, RFC 9112 §9.3.2), as the node:http engine does.
      this.ctx.log.debug({ method, url }, 'http1: request after a Connection: close response; not processed');
      conn.current = null;
      return 0;
    }
    const expect = fieldValue(headers, 'expect');
    const expectContinue = expect !== undefined && maj === 1 && min === 1 && CONTINUE_EXPECTATION.test(expect);
    if (upgrade || method === 'CONNECT' || url === '*' || (expect !== undefined && !expectContinue)) {
      // Re-serialised: llhttp accepted it, so its fields are well-formed; its body (if any) follows.
      conn.handover = [Buffer.from(requestHead(method, url, maj, min, headers), 'latin1')];
      this.pause(conn, P_HANDOVER);
      return 2; // stop after the head: what follows is the node:http engine's to parse
    }
    const drain = this.ctx.drain;
    const seq = ++conn.received;
    drain.requestStarted();
    const ex: Exchange = {
      conn, seq, isHead: method === 'HEAD', expectContinue, start: performance.now(), clientKeepAlive: keepAlive, http10: maj === 1 && min === 0,
      local: null, reqChunked: false, reqDone: false, reqBuf: null, reqBufBytes: 0, app: null, slot: false,
      status: 0, head: null, headSent: false, clientChunked: false, closeAfter: false, appClose: false,
      outBuf: null, outBytes: 0, respDone: false, over: false, timer: null,
    };
    conn.exchanges.push(ex);
    conn.current = ex;
    if (conn.exchanges.length >= this.ctx.config.http1.maxPipelined) this.pause(conn, P_PIPELINE);
    const checked = checkRequestHead(method, url, headers, this.ctx.config.http1);
    if (checked.problem) {
      this.ctx.log.debug({ method, status: checked.problem.status, detail: checked.problem.detail }, 'http1: request refused');
      ex.closeAfter = true;
      this.answerLocally(ex, checked.problem.status === 431 ? 'headers_too_large' : checked.problem.status === 414 ? 'uri_too_long' : 'bad_request', checked.problem.detail);
      return 0;
    }
    // node:http refuses an HTTP/1.1 request without Host (RFC 9112 §3.2) before anything else.
    if (maj === 1 && min === 1 && !hasField(headers, 'host')) {
      ex.closeAfter = true;
      this.answerLocally(ex, 'bad_request', 'no Host header');
      return 0;
    }
    if (!drain.serving) {
      this.answerLocally(ex, 'shutting_down');
      return 0;
    }
    // The head as the app gets it: origin-form target, hop-by-hop fields dropped, our own framing.
    const fwd = forwardableRawHeaders(headers);
    let head = `${method} ${checked.path} HTTP/1.1\r\n`;
    let host = false;
    for (let i = 0; i < fwd.length; i += 2) {
      const n = fwd[i]!;
      if (n.length === 4 && n.toLowerCase() === 'host') host = true;
      head += `${n}: ${fwd[i + 1]}\r\n`;
    }
    if (!host) head += `Host: ${this.upstream.host.includes(':') ? `[${this.upstream.host}]` : this.upstream.host}:${this.upstream.port}\r\n`;
    if (hasField(headers, 'transfer-encoding')) { ex.reqChunked = true; head += 'Transfer-Encoding: chunked\r\n'; }
    head += '\r\n';
    this.sendRequestBytes(ex, Buffer.from(head, 'latin1'));
    conn.waiting.push(ex);
    this.pumpSlots(conn);
    return 0;
  }

  /** Forwards the waiting requests while fewer than --max-app-connections-per-client are with the app. */
  private pumpSlots(conn: Conn): void {
    const max = this.ctx.config.http1.maxAppConnectionsPerClient;
    while (conn.forwarding < max && conn.waiting.length > 0) {
      const ex = conn.waiting.shift()!;
      if (ex.over || ex.local) { this.dropRequestBytes(ex); continue; }
      conn.forwarding++;
      ex.slot = true;
      this.dispatch(ex);
    }
  }

  private freeSlot(ex: Exchange): void {
    if (!ex.slot) return;
    ex.slot = false;
    ex.conn.forwarding--;
    if (ex.conn.waiting.length > 0) process.nextTick(() => this.pumpSlots(ex.conn));
  }

  private dispatch(ex: Exchange): void {
    const app = this.acquireApp();
    app.ex = ex;
    ex.app = app;
    const timeoutS = this.ctx.config.upstreamTimeoutSeconds;
    if (timeoutS > 0) {
      ex.timer = setTimeout(() => {
        if (ex.app === app && ex.status === 0) app.socket.destroy(Object.assign(new Error('no response headers in time'), { code: 'ETIMEDOUT' }));
      }, timeoutS * 1000);
    }
    const buf = ex.reqBuf ?? [];
    this.dropRequestBytes(ex);
    if (ex.conn.paused & P_BODY) this.resume(ex.conn, P_BODY);
    for (const b of buf) this.writeApp(ex, app, b);
    if (!this.batchingApps) this.flushApp(app);
  }

  /** The request bytes an exchange held for its turn: handed to the app, or dropped; released from the budget. */
  private dropRequestBytes(ex: Exchange): void {
    if (ex.reqBufBytes > 0) ex.conn.held.release(ex.reqBufBytes);
    ex.reqBuf = null;
    ex.reqBufBytes = 0;
  }

  private sendRequestBytes(ex: Exchange, b: Buffer): void {
    if (ex.respDone) return; // answered already (the app did not wait for the body): the rest is dropped
    const app = ex.app;
    if (!app) {
      // Held until its turn with the app: counted against --max-buffered-bytes (pipelined heads
      // and bodies waiting behind another request), which closes the biggest holders past it.
      if (!ex.conn.held.hold(b.length)) return; // the budget closed this connection
      (ex.reqBuf ??= []).push(b);
      ex.reqBufBytes += b.length;
      if (ex.reqBufBytes > BUFFER_HIGH) this.pause(ex.conn, P_BODY);
      return;
    }
    this.writeApp(ex, app, b);
    if (!this.batchingApps) this.flushApp(app);
  }

  private writeApp(_ex: Exchange, app: AppConn, b: Buffer): void {
    if (app.batch === null) { app.batch = [b]; this.batchedApps.push(app); } else app.batch.push(b);
  }

  private flushApp(app: AppConn): void {
    const batch = app.batch;
    if (batch === null) return;
    app.batch = null;
    const i = this.batchedApps.indexOf(app);
    if (i >= 0) this.batchedApps.splice(i, 1);
    if (app.socket.destroyed) return;
    const ok = app.socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch));
    const ex = app.ex;
    if (!ok && ex && !ex.reqDone) this.waitAppDrain(ex, app);
  }

  private waitAppDrain(ex: Exchange, app: AppConn): void {
    if (ex.conn.paused & P_BODY) return;
    this.pause(ex.conn, P_BODY);
    app.socket.once('drain', () => this.resume(ex.conn, P_BODY));
  }

  private acquireApp(): AppConn {
    while (this.idleApp.length > 0) {
      const a = this.idleApp.pop()!;
      if (!a.socket.destroyed && a.error === null) { a.idleSince = 0; return a; }
    }
    const ll = this.ll;
    const socket = net.connect({ host: this.upstream.host, port: this.upstream.port, noDelay: true });
    socket.setTimeout(APP_CONNECT_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => socket.setTimeout(0));
    const parser = new ll.Parser();
    parser.initialize(ll.RESPONSE, {}, 0, ll.kLenientNone);
    const a: AppConn = { socket, parser, ex: null, headers: [], informational: false, keepAlive: true, idleSince: 0, error: null, batch: null };
    parser[ll.kOnHeaders] = (headers: string[]): void => { for (let i = 0; i < headers.length; i++) a.headers.push(headers[i]!); };
    parser[ll.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _method: unknown, _url: unknown,
      status: number, statusMessage: string, _upgrade: boolean, keepAlive: boolean): number => {
      let h = headers;
      if (h === undefined) { h = a.headers; a.headers = []; } else if (a.headers.length > 0) { h = a.headers.concat(h); a.headers = []; }
      return this.onResponseHead(a, h, status, statusMessage, keepAlive);
    };
    parser[ll.kOnBody] = (b: Buffer): void => {
      const ex = a.ex;
      if (ex && !a.informational && !ex.over) this.out(ex, ex.clientChunked ? chunk(b) : b);
    };
    parser[ll.kOnMessageComplete] = (): void => this.onResponseComplete(a);
    this.liveApp.add(a);
    socket.on('data', (d: Buffer) => this.onAppData(a, d));
    socket.on('error', (err: NodeJS.ErrnoException) => { a.error ??= err; });
    socket.on('end', () => {
      // A close-delimited body ends here; any other response cut short is an error.
      if (a.ex && a.ex.status !== 0 && !a.ex.respDone) {
        const r = a.parser.finish();
        if (r && a.ex) this.appFailed(a, 'upstream_reset');
      }
      socket.destroy();
    });
    socket.once('close', () => {
      this.liveApp.delete(a);
      if (a.ex) this.appFailed(a, a.error ? classifyUpstreamError(a.error) : 'upstream_reset');
      setImmediate(() => parser.close());
    });
    return a;
  }

  private onAppData(a: AppConn, d: Buffer): void {
    const conn = a.ex?.conn ?? null;
    this.batchingClient = conn;
    const r = a.parser.execute(d);
    this.batchingClient = null;
    if (conn) this.flushClient(conn);
    if (typeof r !== 'number') {
      this.ctx.log.debug({ err: (r as LlhttpError).code }, 'http1: the app\'s response could not be parsed');
      this.appFailed(a, 'upstream_error');
      a.socket.destroy();
    } else if (r < d.length) {
      // Only a 101 stops the response parser early: an upgrade nobody asked for.
      this.appFailed(a, 'upstream_error');
      a.socket.destroy();
    }
  }

  private onResponseHead(a: AppConn, headers: string[], status: number, statusMessage: string, keepAlive: boolean): number {
    const ex = a.ex;
    if (!ex || ex.over) { a.socket.destroy(); return 1; }
    if (status < 200) {
      // 1xx: not relayed (as the node:http engine), but for the 100 to an Expect: 100-continue
      // (while draining that request never got here: it was answered 503).
      if (status === 100 && ex.expectContinue && !ex.headSent && ex.conn.exchanges[0] === ex) this.writeClient(ex, CONTINUE);
      a.informational = true;
      return status === 101 ? 2 : 0;
    }
    if (ex.timer) { clearTimeout(ex.timer); ex.timer = null; }
    ex.status = status;
    a.keepAlive = keepAlive;
    const bodyless = ex.isHead || status === 204 || status === 304;
    const fwd = forwardableRawHeaders(headers);
    let head = `HTTP/1.1 ${status} ${statusMessage}\r\n`;
    let length = false;
    for (let i = 0; i < fwd.length; i += 2) {
      const n = fwd[i]!;
      if (n.length === 14 && n.toLowerCase() === 'content-length') length = true;
      head += `${n}: ${fwd[i + 1]}\r\n`;
    }
    ex.appClose = asksToClose(headers);
    if (!bodyless && (!length || hasField(headers, 'transfer-encoding'))) {
      // Chunked, or delimited by the app's close: chunked to an HTTP/1.1 client; an HTTP/1.0
      // client reads to the close.
      if (ex.http10) ex.closeAfter = true;
      else { ex.clientChunked = true; head += 'Transfer-Encoding: chunked\r\n'; }
    }
    ex.head = head;
    if (ex.conn.exchanges[0] === ex) this.writeHead(ex);
    return ex.isHead ? 1 : 0;
  }

  private onResponseComplete(a: AppConn): void {
    if (a.informational) { a.informational = false; a.headers = []; return; }
    const ex = a.ex;
    const trailers = a.headers;
    a.headers = [];
    if (!ex) return;
    a.ex = null;
    ex.app = null;
    if (ex.clientChunked && !ex.over) {
      if (trailers.length === 0) this.out(ex, LAST_CHUNK);
      else {
        let t = '0\r\n';
        const fwd = forwardableRawHeaders(trailers);
        for (let i = 0; i < fwd.length; i += 2) t += `${fwd[i]}: ${fwd[i + 1]}\r\n`;
        this.out(ex, Buffer.from(`${t}\r\n`, 'latin1'));
      }
    }
    ex.respDone = true;
    // The app connection is reused only when the request went out whole and the app keeps it.
    if (a.keepAlive && ex.reqDone && !a.socket.destroyed && !this.closed) {
      // Paused for this exchange's client (backpressure): an idle connection is read again, so
      // the next exchange on it sees its response (and the app's close is noticed).
      if (a.socket.isPaused()) a.socket.resume();
      a.idleSince = performance.now();
      this.idleApp.push(a);
    }
    else a.socket.destroy();
    this.freeSlot(ex);
    if (ex.conn.exchanges[0] === ex && (ex.outBuf === null || ex.outBuf.length === 0)) this.finish(ex);
  }

  /** The app connection failed under this exchange: an error answer, or a cut response if it had begun. */
  private appFailed(a: AppConn, cause: ProxyErrorCause): void {
    const ex = a.ex;
    a.ex = null;
    if (!ex) return;
    ex.app = null;
    if (ex.timer) { clearTimeout(ex.timer); ex.timer = null; }
    this.freeSlot(ex);
    if (ex.over) return;
    if (ex.status !== 0) {
      // Part of the response is out (or queued): cut the client connection so the client sees an
      // aborted response rather than a clean end.
      ex.conn.socket.destroy();
      return;
    }
    this.answerLocally(ex, cause);
  }

  /** A proxy-made answer, written in turn (on the next turn: requests pipelined behind it are counted first). */
  private answerLocally(ex: Exchange, cause: ProxyErrorCause, detail?: string): void {
    ex.local = { cause, detail };
    ex.status = httpStatusFor(cause);
    ex.respDone = true;
    if (ex.conn.exchanges[0] === ex) setImmediate(() => this.flushFirst(ex.conn));
  }

  /** Writes the first exchange's response head: this is where Connection: close is decided. */
  private writeHead(ex: Exchange): void {
    const conn = ex.conn;
    if (ex.appClose) conn.appClosing = true; // the app's own drain, relayed (see http1.ts beforeHead)
    const last = ex.seq === conn.received;
    if (!ex.clientKeepAlive || ex.closeAfter || (last && (this.ctx.drain.terminating || conn.appClosing))) ex.closeAfter = true;
    if (ex.closeAfter) conn.closing = true;
    const connection = ex.closeAfter ? 'Connection: close\r\n' : conn.keepAliveHeader;
    ex.headSent = true;
    if (ex.local) {
      const bytes = http1ErrorResponse(ex.local.cause, ex.local.detail, connection);
      this.writeClient(ex, Buffer.from(bytes, 'utf8'));
      return;
    }
    this.writeClient(ex, Buffer.from(`${ex.head!}${connection}\r\n`, 'latin1'));
  }

  private out(ex: Exchange, b: Buffer): void {
    if (ex.conn.exchanges[0] === ex && ex.headSent) { this.writeClient(ex, b); return; }
    (ex.outBuf ??= []).push(b);
    ex.outBytes += b.length;
    // Not its turn yet: stop reading its app connection past a bound.
    if (ex.outBytes > BUFFER_HIGH && ex.app && !ex.app.socket.isPaused()) ex.app.socket.pause();
  }

  /**
   * Writes towards the client, counted against --max-buffered-bytes until the socket takes the
   * bytes (budget.ts); the app side pauses on the socket's backpressure, and under budget pressure
   * until this chunk is taken, so a client that does not read gets no more from the app.
   */
  private writeClient(ex: Exchange, b: Buffer): void {
    const conn = ex.conn;
    if (conn.socket.destroyed) return;
    if (this.batchingClient === conn) {
      if (conn.batch === null) conn.batch = [b]; else conn.batch.push(b);
      conn.batchFor = ex;
      return;
    }
    this.sendClient(ex, b);
  }

  /** What a parsed app chunk produced for this client, as one write. Before anything ends the socket. */
  private flushClient(conn: Conn): void {
    const batch = conn.batch;
    if (batch === null) return;
    conn.batch = null;
    this.sendClient(conn.batchFor!, batch.length === 1 ? batch[0]! : Buffer.concat(batch));
    conn.batchFor = null;
  }

  private sendClient(ex: Exchange, b: Buffer): void {
    const conn = ex.conn;
    const socket = conn.socket;
    if (socket.destroyed) return;
    const held = conn.held;
    const n = b.length;
    if (!held.hold(n)) return; // the budget closed this connection
    const app = ex.app;
    const throttled = held.throttled && app !== null;
    if (throttled) { held.budget.throttledChunks++; app.socket.pause(); }
    const ok = socket.write(b, () => {
      held.release(n);
      if (throttled && app.ex === ex && socket.writableNeedDrain === false) app.socket.resume();
    });
    if (!ok && app && !app.socket.isPaused()) {
      app.socket.pause();
      socket.once('drain', () => { if (app.ex === ex) app.socket.resume(); });
    }
  }

  /** The first exchange in line: its head and what it buffered go out, and it finishes if it is over. */
  private flushFirst(conn: Conn): void {
    for (;;) {
      const ex = conn.exchanges[0];
      if (!ex || conn.socket.destroyed) return;
      if (!ex.headSent) {
        if (ex.local || ex.head !== null) this.writeHead(ex);
        else return;
      }
      if (ex.outBuf) {
        const bufs = ex.outBuf;
        ex.outBuf = null;
        ex.outBytes = 0;
        for (const b of bufs) this.writeClient(ex, b);
        if (ex.app?.socket.isPaused() && conn.socket.writableLength === 0) ex.app.socket.resume();
      }
      if (!ex.respDone) return;
      this.finish(ex);
      if (conn.exchanges[0] === ex) return; // not finished (the connection closed)
    }
  }

  /** Bookkeeping when the first exchange's response is fully written. */
  private finish(ex: Exchange): void {
    const conn = ex.conn;
    if (ex.over) return;
    ex.over = true;
    if (conn.exchanges[0] === ex) conn.exchanges.shift();
    else { const i = conn.exchanges.indexOf(ex); if (i >= 0) conn.exchanges.splice(i, 1); }
    if (conn.current === ex && ex.local) { /* its body is still read and dropped */ }
    this.done(ex, ex.status);
    this.flushClient(conn);
    if (ex.closeAfter) {
      conn.socket.destroySoon(); // as node:http: closed once written, not left half-open for the client to close
      return;
    }
    if (conn.failed !== null) { this.settleFailed(conn); return; }
    if ((conn.paused & P_PIPELINE) && conn.exchanges.length < this.ctx.config.http1.maxPipelined) this.resume(conn, P_PIPELINE);
    if (conn.exchanges.length > 0) { this.flushFirst(conn); return; }
    conn.idleSince = performance.now();
    if (conn.handover) { this.maybeHandOver(conn); return; }
    if (conn.ended) { conn.socket.end(); return; }
    // A response that started before draining went out keep-alive; close the connection now.
    if (this.ctx.drain.phase === 'draining') conn.socket.destroySoon();
  }

  /** Counted once per request: drain and metrics. */
  private done(ex: Exchange, status: number): void {
    if (ex.timer) { clearTimeout(ex.timer); ex.timer = null; }
    this.freeSlot(ex);
    this.ctx.drain.requestFinished();
    this.ctx.metrics.requestDone(this.ctx.direction ?? DIR_INBOUND, PROTO_HTTP1, status, (performance.now() - ex.start) / 1000);
  }

  /**
   * The parser refused the client's bytes (or the head timed out): the answer goes out after the
   * responses still due, then the connection closes; a request whose body was cut short gets it.
   */
  private refuseBytes(conn: Conn, cause: ProxyErrorCause, err?: LlhttpError): void {
    if (conn.failed !== null) return;
    this.ctx.log.debug({ err: err?.code ?? cause, cause }, 'http1: client request refused');
    conn.failed = http1ErrorBytes(cause);
    conn.cut = conn.current && !conn.current.reqDone ? conn.current : null;
    conn.current = null;
    this.pause(conn, P_FAILED);
    this.settleFailed(conn);
  }

  private settleFailed(conn: Conn): void {
    if (!conn.failed) return;
    const cut = conn.cut;
    const cutOpen = cut !== null && !cut.over;
    if (conn.exchanges.length - (cutOpen ? 1 : 0) > 0) {
      if (conn.exchanges[0] !== cut) return;
    }
    const bytes = conn.failed;
    conn.failed = '';
    this.flushClient(conn);
    if (cut && cutOpen) {
      cut.over = true;
      conn.exchanges.splice(conn.exchanges.indexOf(cut), 1);
      if (cut.app) { const a = cut.app; a.ex = null; cut.app = null; a.socket.destroy(); }
      this.done(cut, 400);
    }
    conn.dead = true;
    conn.socket.end(bytes);
    // Read on (and drop) so the client's FIN is seen and the connection closes; one that never
    // closes is cut after a bounded linger.
    conn.paused = 0;
    conn.socket.resume();
    setTimeout(() => conn.socket.destroy(), FAILED_LINGER_MS).unref();
  }

  private onEnd(conn: Conn): void {
    conn.ended = true;
    if (conn.dead || conn.handover) { if (conn.handover && conn.exchanges.length === 0) this.maybeHandOver(conn); return; }
    const r = conn.parser.finish();
    if (r) { this.refuseBytes(conn, 'bad_request', r); return; }
    if (conn.exchanges.length > 0) this.ctx.log.debug({ inFlight: conn.exchanges.length }, 'http1: client half-closed; answering its requests, then closing');
    else conn.socket.end();
  }

  private onClose(conn: Conn): void {
    this.conns.delete(conn);
    conn.dead = true;
    conn.held.close();
    for (const ex of conn.exchanges.splice(0)) {
      if (ex.over) continue;
      ex.over = true;
      const a = ex.app;
      if (a) { a.ex = null; ex.app = null; a.socket.destroy(); } // mid-exchange: not reusable
      this.done(ex, 0);
    }
    conn.waiting.length = 0;
    if (!conn.handover) setImmediate(() => conn.parser.close());
  }

  private pause(conn: Conn, why: number): void {
    if (conn.paused === 0) conn.socket.pause();
    conn.paused |= why;
  }

  private resume(conn: Conn, why: number): void {
    if (!(conn.paused & why)) return;
    conn.paused &= ~why;
    if (conn.paused === 0 && !conn.socket.destroyed) conn.socket.resume();
  }

  /** Hands the connection to the node:http engine once nothing is due on it. */
  private maybeHandOver(conn: Conn): void {
    if (!conn.handover || conn.exchanges.length > 0 || conn.socket.destroyed || conn.dead) return;
    const bytes = Buffer.concat(conn.handover);
    conn.handover = null;
    conn.dead = true;
    this.conns.delete(conn);
    const s = conn.socket;
    s.off('data', conn.onData!);
    s.off('end', conn.onEnd!);
    s.off('close', conn.onClose!);
    conn.held.close(); // the node:http engine counts this connection with a holder of its own
    s.pause();
    setImmediate(() => conn.parser.close());
    s.unshift(bytes);
    (this.node ??= new Http1Proxy(this.ctx, this.upstream, (back) => this.accept(back))).accept(s);
  }

  private closeIdle(): void {
    for (const c of this.conns) if (c.exchanges.length === 0 && !c.handover) c.socket.destroy();
  }

  private checkTimeouts(): void {
    const now = performance.now();
    const l = this.ctx.config.http1;
    const headMs = l.requestHeaderTimeoutSeconds * 1000;
    const idleMs = l.keepAliveTimeoutSeconds * 1000;
    for (const c of this.conns) {
      if (c.dead || c.handover) continue;
      if (headMs > 0 && c.headStart > 0 && now - c.headStart > headMs) { c.headStart = 0; this.refuseBytes(c, 'request_timeout'); continue; }
      if (idleMs > 0 && c.idleSince > 0 && c.exchanges.length === 0 && now - c.idleSince > idleMs) c.socket.destroy();
    }
    for (let i = this.idleApp.length - 1; i >= 0; i--) {
      const a = this.idleApp[i]!;
      if (a.socket.destroyed || now - a.idleSince > APP_IDLE_MS) { this.idleApp.splice(i, 1); a.socket.destroy(); }
    }
  }

  private close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const a of this.idleApp.splice(0)) a.socket.destroy();
  }
}

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
/** node:http's test for an Expect it answers with checkContinue (others get 417 there). */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

function chunk(b: Buffer): Buffer {
  const size = Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat([size, b, CRLF], size.length + b.length + 2);
}
const CRLF = Buffer.from('\r\n', 'latin1');

function hasField(headers: readonly string[], lower: string): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === lower.length && n.toLowerCase() === lower) return true;
  }
  return false;
}

function fieldValue(headers: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === lower.length && n.toLowerCase() === lower) return headers[i + 1];
  }
  return undefined;
}

function asksToClose(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === 10 && n.toLowerCase() === 'connection' && /(^|,)\s*close\s*(,|$)/i.test(headers[i + 1]!)) return true;
  }
  return false;
}

function requestHead(method: string, url: string, maj: number, min: number, headers: readonly string[]): string {
  let s = `${method} ${url} HTTP/${maj}.${min}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}

