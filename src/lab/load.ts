/**
 * The lab's clients: a steady open-loop load split over N clients, each of one kind (HTTP/1.1
 * keep-alive, HTTP/1.1 a new connection per request, HTTP/2 over one connection), each learning
 * of the old pod's removal after its own propagation delay and sending to "new" from then on.
 * Every request is recorded with its outcome. Bounded: a request count cap and a per-request timeout.
 */
import http from 'node:http';
import http2 from 'node:http2';

export type ClientKind = 'h1-keepalive' | 'h1-new-connection' | 'h2';
export const CLIENT_KINDS: readonly ClientKind[] = ['h1-keepalive', 'h1-new-connection', 'h2'];

export type Outcome = 'ok' | 'refused' | 'reset' | '5xx' | 'timeout';
export const OUTCOMES: readonly Outcome[] = ['ok', 'refused', 'reset', '5xx', 'timeout'];

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

/** N clients, kinds in rotation, delays spread evenly over [0, MAX] with the last one at MAX. */
export function planClients(rps: number, maxDelaySeconds: number, count?: number): ClientPlan[] {
  const n = Math.max(1, Math.min(count ?? 24, Math.floor(rps)));
  const plans: ClientPlan[] = [];
  for (let i = 0; i < n; i++) {
    const delayMs = n === 1 ? maxDelaySeconds * 1000 : (maxDelaySeconds * 1000 * i) / (n - 1);
    plans.push({ id: i, kind: CLIENT_KINDS[i % CLIENT_KINDS.length]!, delayMs, rps: rps / n });
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
}

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
    return { sent: this.sent, done: this.records.length, failed: this.records.filter((r) => r.outcome !== 'ok').length };
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

  private targetOf(c: ClientPlan, t: number): Target {
    return this.t0 !== undefined && t >= this.t0 + c.delayMs ? 'new' : 'old';
  }

  private tick(): void {
    const t = this.now();
    for (const c of this.opts.clients) {
      // Never burst to catch up after a stall: at most two sends per client per tick.
      for (let k = 0; k < 2 && this.next[c.id]! <= t; k++) {
        this.next[c.id]! += 1000 / c.rps;
        if (this.sent >= this.opts.maxRequests) return;
        this.sent++;
        this.send(c, this.targetOf(c, t));
      }
      if (this.next[c.id]! <= t) this.next[c.id] = t + 1000 / c.rps;
    }
  }

  private send(c: ClientPlan, target: Target): void {
    const start = this.now();
    this.inFlight++;
    const finish = (outcome: Outcome, status?: number, error?: string): void => {
      this.records.push({ client: c.id, kind: c.kind, target, start: this.rel(start), end: this.rel(this.now()), outcome, status, error });
      this.inFlight--;
      if (this.inFlight === 0 && this.idle) this.idle();
    };
    let settled = false;
    const once = (outcome: Outcome, status?: number, error?: string): void => {
      if (settled) return;
      settled = true;
      finish(outcome, status, error);
    };
    if (c.kind === 'h2') this.sendH2(c, target, once);
    else this.sendH1(c, target, once);
  }

  private sendH1(c: ClientPlan, target: Target, done: (o: Outcome, status?: number, error?: string) => void): void {
    const keepAlive = c.kind === 'h1-keepalive';
    let agent: http.Agent | false = false;
    if (keepAlive) {
      const key = `${c.id}/${target}`;
      agent = this.agents.get(key) ?? new http.Agent({ keepAlive: true });
      this.agents.set(key, agent);
    }
    const req = http.request({
      host: this.opts.hosts?.[target] ?? '127.0.0.1', port: this.opts.ports[target], path: '/', method: 'GET', agent,
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
    req.on('error', (e) => done(errorOutcome(e), undefined, errCode(e)));
    req.end();
  }

  private session(c: ClientPlan, target: Target): http2.ClientHttp2Session {
    const key = `${c.id}/${target}`;
    const cur = this.sessions.get(key);
    if (cur && !cur.closed && !cur.destroyed && !goneAway.has(cur)) return cur;
    const s = http2.connect(`http://${this.opts.hosts?.[target] ?? '127.0.0.1'}:${this.opts.ports[target]}`);
    s.on('error', (e) => sessionErrors.set(s, e));
    s.on('goaway', () => goneAway.add(s));
    s.unref();
    this.sessions.set(key, s);
    return s;
  }

  private sendH2(c: ClientPlan, target: Target, done: (o: Outcome, status?: number, error?: string) => void, retried = false): void {
    let stream: http2.ClientHttp2Stream;
    let session: http2.ClientHttp2Session;
    try {
      session = this.session(c, target);
      stream = session.request({ ':path': '/', ':method': 'GET' });
    } catch (e) {
      // The session went away between our check and the request: nothing was sent, open another.
      if (!retried) { this.sendH2(c, target, done, true); return; }
      done(errorOutcome(e as Error), undefined, errCode(e as Error));
      return;
    }
    let status: number | undefined;
    let handled = false;
    // Exactly one of: an outcome, or one retry of a stream the server never processed.
    const conclude = (retry: boolean, outcome: Outcome, error?: string): void => {
      if (handled) return;
      handled = true;
      clearTimeout(timer);
      if (retry) this.sendH2(c, target, done, true);
      else done(outcome, status, error);
    };
    const timer = setTimeout(() => { conclude(false, 'timeout'); stream.close(http2.constants.NGHTTP2_CANCEL); }, this.opts.timeoutMs);
    stream.on('response', (h) => { status = Number(h[':status']); });
    stream.on('data', () => {});
    stream.on('end', () => conclude(false, status === undefined ? 'reset' : statusOutcome(status), status === undefined ? `ended without a response (rst ${stream.rstCode}, session ${session.destroyed ? 'destroyed' : session.closed ? 'closed' : 'open'})` : undefined));
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
    stream.end();
  }
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
  return (e as NodeJS.ErrnoException).code ?? e.message;
}

export function errorOutcome(e: Error): Outcome {
  const code = errCode(e);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'timeout';
  return 'reset';
}
