/**
 * The lab's clients: a steady open-loop load split over N clients, each of one kind (HTTP/1.1
 * keep-alive, HTTP/1.1 a new connection per request, HTTP/2 over one connection), each learning
 * of the old pod's removal after its own propagation delay and sending to "new" from then on.
 * Every request is recorded with its outcome. Bounded: a request count cap and a per-request timeout.
 *
 * Two client models (`--client-model`):
 * - `kube-proxy` (the default): a client talks to the Service's virtual IP; kube-proxy picks an
 *   endpoint per new connection, and conntrack keeps an established connection on its pod, so a
 *   keep-alive or HTTP/2 connection to old stays there until it closes (Connection: close, GOAWAY,
 *   reset); only new connections go to new after the client's delay;
 * - `mesh`: a client-side balancer (a mesh proxy, a gRPC client with its own resolver) that moves
 *   every request to new after the delay, leaving its connections to old unused.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

export type ClientKind = 'h1-keepalive' | 'h1-new-connection' | 'h2' | 'grpc';
export const CLIENT_KINDS: readonly ClientKind[] = ['h1-keepalive', 'h1-new-connection', 'h2'];

/** What `--clients` names: HTTP/1.1 (keep-alive and a connection per request), HTTP/2 cleartext, gRPC unary. */
export type ClientProtocol = 'h1' | 'h2c' | 'grpc';
export const CLIENT_PROTOCOLS: readonly ClientProtocol[] = ['h1', 'h2c', 'grpc'];
const KINDS_OF: Record<ClientProtocol, ClientKind[]> = { h1: ['h1-keepalive', 'h1-new-connection'], h2c: ['h2'], grpc: ['grpc'] };

export function kindsFor(protocols: readonly ClientProtocol[]): ClientKind[] {
  return CLIENT_PROTOCOLS.filter((p) => protocols.includes(p)).flatMap((p) => KINDS_OF[p]);
}

/** How often an HTTP/1 request that failed on a reused keep-alive connection is sent again (see sendH1). */
const MAX_H1_RESENDS = 5;

/**
 * `no-endpoint`: the client's view of the Service had no endpoint left (the last replica stopped
 * serving: a scale to zero), so its new connection was rejected; not a request the pod lost.
 */
export type Outcome = 'ok' | 'refused' | 'reset' | '5xx' | 'timeout' | 'no-endpoint';
export const OUTCOMES: readonly Outcome[] = ['ok', 'refused', 'reset', '5xx', 'timeout', 'no-endpoint'];
/** The outcomes that count as lost: failed while the client had an endpoint, or on an established connection. */
export const LOST_OUTCOMES: readonly Outcome[] = ['refused', 'reset', '5xx', 'timeout'];

export type Target = 'old' | 'new';

export interface RequestRecord {
  client: number;
  kind: ClientKind;
  target: Target;
  /** ms from t0 (negative before the deletion). */
  start: number;
  end: number;
  outcome: Outcome;
  status?: number;
  error?: string;
}

export interface ClientPlan { id: number; kind: ClientKind; delayMs: number; rps: number }

export type ClientModel = 'kube-proxy' | 'mesh';
export const CLIENT_MODELS: readonly ClientModel[] = ['kube-proxy', 'mesh'];

/**
 * Where a client's new connection goes at time t (performance.now()), or null when its view of
 * the Service has no endpoint (kube-proxy then rejects the connection: ECONNREFUSED).
 */
export type EndpointView = (c: ClientPlan, t: number, t0: number | undefined) => Target | null;

/** The standard view: old until the client learns of its removal (t0 + its delay), new from then on. */
export const removalView: EndpointView = (c, t, t0) => (t0 !== undefined && t >= t0 + c.delayMs ? 'new' : 'old');

/** What a refused connection to a Service without endpoints looks like in the records. */
export const NO_ENDPOINT = 'no serving endpoint (kube-proxy rejects: ECONNREFUSED)';

/** N clients, kinds in rotation, delays spread evenly over [0, MAX] with the last one at MAX. */
export function planClients(rps: number, maxDelaySeconds: number, count?: number, kinds: readonly ClientKind[] = CLIENT_KINDS): ClientPlan[] {
  const n = Math.max(1, Math.min(count ?? 24, Math.floor(rps)));
  const plans: ClientPlan[] = [];
  for (let i = 0; i < n; i++) {
    const delayMs = n === 1 ? maxDelaySeconds * 1000 : (maxDelaySeconds * 1000 * i) / (n - 1);
    plans.push({ id: i, kind: kinds[i % kinds.length]!, delayMs, rps: rps / n });
  }
  return plans;
}

export interface LoadOptions {
  clients: ClientPlan[];
  ports: Record<Target, number>;
  /** Where each target listens (default 127.0.0.1; a pod's address with `--transparent`). */
  hosts?: Partial<Record<Target, string>>;
  timeoutMs: number;
  /** Hard cap on requests sent, whatever happens. */
  maxRequests: number;
  now?: () => number;
  /** How connections find a pod (default kube-proxy). */
  model?: ClientModel;
  /** Each client's view of the Service's endpoints (default removalView). */
  view?: EndpointView;
}

/** The name clients use for the Service (kube-proxy model): connections are made by connectTo(). */
const SERVICE = { host: 'lab-demo.svc', port: 80 };

/** Which pod a socket was connected to (kube-proxy model: chosen per connection). */
const socketTarget = new WeakMap<object, Target>();

export class LoadGenerator {
  readonly records: RequestRecord[] = [];
  private t0: number | undefined;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly next: number[];
  private timer: ReturnType<typeof setInterval> | undefined;
  private inFlight = 0;
  private sent = 0;
  private idle: (() => void) | undefined;
  private readonly agents = new Map<string, http.Agent>();
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly opts: LoadOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = this.now();
    // Stagger the clients over one period so the load is smooth.
    this.next = opts.clients.map((c, i) => this.startedAt + (1000 / c.rps) * (i / opts.clients.length));
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), 5);
  }

  /** The deletion happened now: from here each client switches after its delay. */
  markT0(at = this.now()): void {
    this.t0 = at;
    for (const r of this.records) { r.start -= at - this.startedAt; r.end -= at - this.startedAt; }
  }

  get counts(): { sent: number; done: number; failed: number } {
    return { sent: this.sent, done: this.records.length, failed: this.records.filter((r) => LOST_OUTCOMES.includes(r.outcome)).length };
  }

  /** Stops sending, waits for what is in flight (bounded by the request timeout), closes connections. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Every request ends by its timeout at the latest; the extra second is for the bookkeeping.
    if (this.inFlight > 0) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.opts.timeoutMs + 1000);
        this.idle = () => { clearTimeout(t); r(); };
      });
    }
    for (const a of this.agents.values()) a.destroy();
    for (const s of this.sessions.values()) s.destroy();
  }

  private rel(t: number): number {
    return t - (this.t0 ?? this.startedAt);
  }

  /** The endpoint a new connection of client c goes to now, or null (no endpoint). */
  private pick(c: ClientPlan, t = this.now()): Target | null {
    return (this.opts.view ?? removalView)(c, t, this.t0);
  }

  private get model(): ClientModel {
    return this.opts.model ?? 'kube-proxy';
  }

  private tick(): void {
    const t = this.now();
    for (const c of this.opts.clients) {
      // Never burst to catch up after a stall: at most two sends per client per tick.
      for (let k = 0; k < 2 && this.next[c.id]! <= t; k++) {
        this.next[c.id]! += 1000 / c.rps;
        if (this.sent >= this.opts.maxRequests) return;
        this.sent++;
        this.send(c);
      }
      if (this.next[c.id]! <= t) this.next[c.id] = t + 1000 / c.rps;
    }
  }

  private send(c: ClientPlan): void {
    const start = this.now();
    this.inFlight++;
    // The pod the request went to: the view's choice, or the pod of the connection it reused.
    const at = { target: (this.pick(c, start) ?? 'old') as Target };
    const finish = (outcome: Outcome, status?: number, error?: string): void => {
      this.records.push({ client: c.id, kind: c.kind, target: at.target, start: this.rel(start), end: this.rel(this.now()), outcome, status, error });
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) this.idle();
    };
    let settled = false;
    const once = (outcome: Outcome, status?: number, error?: string): void => {
      if (settled) return;
      settled = true;
      finish(outcome, status, error);
    };
    // A client-side balancer with no endpoint fails the request itself; through kube-proxy an open
    // connection still reaches its pod, and only a new one is rejected.
    if (this.model === 'mesh' && this.pick(c, start) === null) { process.nextTick(() => once('no-endpoint', undefined, NO_ENDPOINT)); return; }
    if (c.kind === 'h2' || c.kind === 'grpc') this.sendH2(c, at, once);
    else this.sendH1(c, at, once);
  }

  private address(t: Target): { host: string; port: number } {
    return { host: this.opts.hosts?.[t] ?? '127.0.0.1', port: this.opts.ports[t] };
  }

  /** A connection to pod t; with no endpoint (null), a socket that fails as kube-proxy's REJECT does. */
  private connectTo(t: Target | null): net.Socket {
    if (t === null) {
      const s = new net.Socket();
      const err = Object.assign(new Error(NO_ENDPOINT), { code: 'ECONNREFUSED' });
      process.nextTick(() => s.destroy(err));
      return s;
    }
    const s = net.connect(this.address(t));
    socketTarget.set(s, t);
    return s;
  }

  /**
   * The HTTP/1 keep-alive agent of a client. kube-proxy model: one agent whose new connections
   * go where the view says, reused while open (conntrack); mesh model: one agent per pod.
   */
  private agentFor(c: ClientPlan, at: { target: Target }): http.Agent {
    const key = this.model === 'mesh' ? `${c.id}/${at.target}` : `${c.id}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true });
      if (this.model === 'kube-proxy') {
        const own = agent as unknown as { createConnection: (o: unknown, cb?: unknown) => net.Socket };
        own.createConnection = () => this.connectTo(this.pick(c));
      }
      this.agents.set(key, agent);
    }
    return agent;
  }

  /**
   * One HTTP/1 request. A request on a reused keep-alive connection that the server closed before
   * any byte of an answer (it closed the idle connection as the request crossed it: the keep-alive
   * race, e.g. a terminating proxy closing its idle connections) is sent again, as Go's net/http,
   * browsers and Node's own docs do for idempotent requests: the server never saw it. Like Go's
   * Transport it tries again as long as the failure was on a reused connection (the pool may hold
   * several that the server closed at once), here at most MAX_H1_RESENDS times; a failure on a new
   * connection, or any other failure, is the outcome.
   */
  private sendH1(c: ClientPlan, at: { target: Target }, done: (o: Outcome, status?: number, error?: string) => void, resent = 0): void {
    const keepAlive = c.kind === 'h1-keepalive';
    const kubeProxy = this.model === 'kube-proxy';
    const req = http.request({
      // kube-proxy model: one name for the Service, so the agent pools its connections whatever pod they reached.
      ...(kubeProxy ? SERVICE : this.address(at.target)), path: '/', method: 'GET',
      ...(keepAlive ? { agent: this.agentFor(c, at) } : { createConnection: () => this.connectTo(kubeProxy ? this.pick(c) : at.target) }),
      headers: keepAlive ? {} : { connection: 'close' },
    }, (res) => {
      res.resume();
      res.on('end', () => done(statusOutcome(res.statusCode ?? 0), res.statusCode));
      res.on('close', () => { if (!res.complete) done('reset', res.statusCode, 'response cut'); });
      res.on('error', (e) => done(errorOutcome(e), res.statusCode, errCode(e)));
    });
    // A timer of our own: req.setTimeout only runs once a socket is assigned and idle.
    const timer = setTimeout(() => { done('timeout'); req.destroy(); }, this.opts.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    let answered = false;
    req.once('response', () => { answered = true; });
    req.on('error', (e) => {
      if (resent < MAX_H1_RESENDS && !answered && req.reusedSocket && (errCode(e) === 'ECONNRESET' || errCode(e) === 'EPIPE')) {
        clearTimeout(timer);
        this.sendH1(c, at, done, resent + 1);
        return;
      }
      done(errorOutcome(e), undefined, errCode(e));
    });
    req.on('socket', (s) => { const t = socketTarget.get(s); if (t) at.target = t; });
    req.end();
  }

  /** The client's HTTP/2 connection: per client (kube-proxy: reused while open) or per client and pod (mesh). */
  private session(c: ClientPlan, at: { target: Target }): http2.ClientHttp2Session {
    const key = this.model === 'mesh' ? `${c.id}/${at.target}` : `${c.id}`;
    const cur = this.sessions.get(key);
    if (cur && !cur.closed && !cur.destroyed && !goneAway.has(cur)) {
      at.target = socketTarget.get(cur) ?? at.target;
      return cur;
    }
    const t = this.model === 'mesh' ? at.target : this.pick(c);
    const s = http2.connect(`http://${SERVICE.host}:${SERVICE.port}`, { createConnection: () => this.connectTo(t) });
    if (t !== null) { socketTarget.set(s, t); at.target = t; }
    s.on('error', (e) => sessionErrors.set(s, e));
    s.on('goaway', () => goneAway.add(s));
    s.unref();
    this.sessions.set(key, s);
    return s;
  }

  private sendH2(c: ClientPlan, at: { target: Target }, done: (o: Outcome, status?: number, error?: string) => void, retried = false): void {
    let stream: http2.ClientHttp2Stream;
    let session: http2.ClientHttp2Session;
    try {
      session = this.session(c, at);
      // gRPC unary: a POST of one empty length-prefixed message; the answer is in grpc-status.
      stream = c.kind === 'grpc'
        ? session.request({ ':path': '/ebb.lab.Demo/Call', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' })
        : session.request({ ':path': '/', ':method': 'GET' });
    } catch (e) {
      // The session went away between our check and the request: nothing was sent, open another.
      if (!retried) { this.sendH2(c, at, done, true); return; }
      done(errorOutcome(e as Error), undefined, errCode(e as Error));
      return;
    }
    let status: number | undefined;
    let grpcStatus: string | undefined;
    let handled = false;
    // Exactly one of: an outcome, or one retry of a stream the server never processed.
    const conclude = (retry: boolean, outcome: Outcome, error?: string): void => {
      if (handled) return;
      handled = true;
      clearTimeout(timer);
      if (retry) this.sendH2(c, at, done, true);
      else done(outcome, status, error);
    };
    const timer = setTimeout(() => { conclude(false, 'timeout'); stream.close(http2.constants.NGHTTP2_CANCEL); }, this.opts.timeoutMs);
    stream.on('response', (h) => { status = Number(h[':status']); if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
    stream.on('trailers', (h) => { if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
    stream.on('data', () => {});
    stream.on('end', () => {
      if (status === undefined) { conclude(false, 'reset', `ended without a response (rst ${stream.rstCode}, session ${session.destroyed ? 'destroyed' : session.closed ? 'closed' : 'open'})`); return; }
      // gRPC fails with HTTP 200 and a grpc-status (14 UNAVAILABLE when the proxy cannot reach the app).
      if (c.kind === 'grpc' && statusOutcome(status) === 'ok' && grpcStatus !== '0') { conclude(false, '5xx', `grpc-status ${grpcStatus ?? 'missing'}`); return; }
      conclude(false, statusOutcome(status));
    });
    // RFC 9113 §8.7: a stream refused (REFUSED_STREAM, or above GOAWAY's last stream id) was not
    // processed and may be retried; real HTTP/2 clients do so on a new connection.
    stream.on('error', (err) => {
      // A stream cancelled because its connection failed: the connection's error says what happened.
      const e = (err as { cause?: Error }).cause ?? sessionErrors.get(session) ?? err;
      conclude(!retried && status === undefined && unprocessed(e), errorOutcome(e), errCode(e));
    });
    stream.on('close', () => {
      const rst = stream.rstCode;
      if (rst && rst !== http2.constants.NGHTTP2_NO_ERROR) {
        conclude(!retried && status === undefined && rst === http2.constants.NGHTTP2_REFUSED_STREAM,
          status !== undefined && status >= 500 ? '5xx' : 'reset', `rst ${rst}`);
      } else if (status === undefined) {
        conclude(false, 'reset', 'stream closed without a response');
      }
    });
    stream.end(c.kind === 'grpc' ? Buffer.alloc(5) : undefined);
  }
}

/**
 * Does the server at host:port answer HTTP/2 with prior knowledge (h2c)? One GET /healthz, bounded
 * by `timeoutMs`; any answer below 500 is yes. The lab's default clients speak what the app speaks.
 */
export function speaksH2c(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = http2.connect(`http://${host}:${port}`);
    const done = (ok: boolean): void => { clearTimeout(timer); s.destroy(); resolve(ok); };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('error', () => done(false));
    const req = s.request({ ':path': '/healthz', ':method': 'GET' });
    req.on('response', (h) => done(Number(h[':status']) < 500));
    req.on('error', () => done(false));
    req.on('close', () => done(false));
    req.end();
  });
}

const goneAway = new WeakSet<http2.ClientHttp2Session>();
const sessionErrors = new WeakMap<http2.ClientHttp2Session, Error>();

function unprocessed(e: Error): boolean {
  const code = errCode(e);
  return code === 'ERR_HTTP2_GOAWAY_SESSION' || /REFUSED_STREAM/.test(e.message);
}

function statusOutcome(status: number): Outcome {
  return status >= 500 ? '5xx' : 'ok';
}

function errCode(e: Error): string {
  if (e.message === NO_ENDPOINT) return NO_ENDPOINT;
  return (e as NodeJS.ErrnoException).code ?? e.message;
}

export function errorOutcome(e: Error): Outcome {
  const code = errCode(e);
  if (code === NO_ENDPOINT) return 'no-endpoint';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  return 'reset';
}
