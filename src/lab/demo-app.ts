/**
 * The lab's demo app: HTTP/1.1 and cleartext HTTP/2 (prior knowledge) on one port, each response
 * after a latency drawn from a configurable distribution. On TERM it behaves like a well-written
 * app: stop accepting, let in-flight requests finish (HTTP/1 keep-alive off, HTTP/2 GOAWAY), exit 0.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';

export interface LatencyBucket { ms: number; weight: number }

/** Default: most requests fast, a few slow ones of a couple of seconds. */
export const DEFAULT_LATENCY = '10ms:90,100ms:9,2s:1';

/** Parses "10ms:90,100ms:9,2s:1" (latency:weight, comma-separated; ms or s). */
export function parseLatency(spec: string): LatencyBucket[] {
  const out: LatencyBucket[] = [];
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([0-9.]+)(ms|s)?(?::([0-9.]+))?$/.exec(part);
    if (!m) throw new Error(`latency "${part}" is not of the form 10ms:90 or 2s:1`);
    const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
    const weight = m[3] === undefined ? 1 : Number(m[3]);
    if (!Number.isFinite(ms) || ms < 0 || !Number.isFinite(weight) || weight <= 0) throw new Error(`latency "${part}" has a bad number`);
    out.push({ ms, weight });
  }
  if (out.length === 0) throw new Error('latency distribution is empty');
  return out;
}

/** A small seeded generator (mulberry32), so a run's latencies can be reproduced. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function latencySampler(buckets: LatencyBucket[], random: () => number): () => number {
  const total = buckets.reduce((s, b) => s + b.weight, 0);
  return () => {
    let x = random() * total;
    for (const b of buckets) {
      x -= b.weight;
      if (x < 0) return b.ms;
    }
    return buckets[buckets.length - 1]!.ms;
  };
}

export interface DemoApp {
  port: number;
  /** Graceful stop: what TERM does. Resolves when every connection is gone. */
  close(): Promise<void>;
}

export async function startDemoApp(opts: { port?: number; host?: string; latency?: string; seed?: number; name?: string }): Promise<DemoApp> {
  const sample = latencySampler(parseLatency(opts.latency ?? DEFAULT_LATENCY), seededRandom(opts.seed ?? 1));
  const name = opts.name ?? 'demo';
  let closing = false;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const delayFor = (url: string | undefined): number => {
    const m = /[?&]ms=([0-9]+)/.exec(url ?? '');
    return m ? Number(m[1]) : sample();
  };

  // Requests in flight per HTTP/1 socket: an idle one is closed at once when stopping.
  // (server.closeIdleConnections() does not see sockets handed over with emit('connection').)
  const busy = new Map<net.Socket, number>();
  const h1 = http.createServer((req, res) => {
    const sock = req.socket as net.Socket;
    busy.set(sock, (busy.get(sock) ?? 0) + 1);
    res.on('close', () => {
      busy.set(sock, (busy.get(sock) ?? 1) - 1);
      if (closing && busy.get(sock) === 0) sock.destroySoon();
    });
    if (req.url === '/healthz') { res.end('ok\n'); return; }
    const t = setTimeout(() => {
      timers.delete(t);
      // While stopping, keep-alive off so the client reconnects elsewhere.
      if (closing) res.setHeader('connection', 'close');
      res.end(`ok ${name}\n`);
    }, delayFor(req.url));
    timers.add(t);
  });
  h1.keepAliveTimeout = 30_000;

  const h2 = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)); if (closing) s.close(); });
  h2.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '/');
    // gRPC unary (the lab's grpc clients): one empty message back, then grpc-status 0.
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    if (grpc) stream.resume();
    const t = setTimeout(() => {
      timers.delete(t);
      if (stream.destroyed) return;
      if (grpc) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.alloc(5));
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.end(`ok ${name}\n`);
    }, path === '/healthz' ? 0 : delayFor(path));
    timers.add(t);
    stream.on('error', () => {});
  });

  // One port for both protocols: HTTP/2 cleartext starts with the connection preface.
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => { sockets.delete(socket); busy.delete(socket); });
    socket.on('error', () => {});
    socket.once('data', (chunk) => {
      socket.pause();
      socket.unshift(chunk);
      // Each server takes the socket over from here (http2 reads the put-back bytes itself).
      if (chunk.subarray(0, 3).toString('latin1') === 'PRI') h2.emit('connection', socket);
      else { h1.emit('connection', socket); socket.resume(); }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    close: () => new Promise<void>((resolve) => {
      closing = true;
      server.close();
      h1.closeIdleConnections();
      for (const [s, n] of busy) if (n === 0) s.destroySoon();
      for (const s of sessions) s.close();
      // Sockets that never sent a byte are idle: close them too.
      for (const s of sockets) if (s.bytesRead === 0) s.destroy();
      // Bounded like a real app's shutdown: whatever is left after 30 s is cut.
      const started = Date.now();
      const check = setInterval(() => {
        h1.closeIdleConnections();
        if (Date.now() - started > 30_000) for (const s of sockets) s.destroy();
        if (sockets.size === 0) { clearInterval(check); for (const t of timers) clearTimeout(t); resolve(); }
      }, 20);
    }),
  };
}

export interface OutboundCall { start: number; end: number; ok: boolean; status?: number; error?: string }

/**
 * The app's own outbound calls: GET `url` every `everyMs` ms, each on a new connection (the hard
 * case for a proxy that is shutting down: every call needs its listener to accept), until the
 * process exits. A call is ok on any status below 500; times are epoch milliseconds.
 */
export function startOutboundCalls(url: string, everyMs: number, onCall: (c: OutboundCall) => void, timeoutMs = 3_000): void {
  const once = (): void => {
    const start = Date.now();
    let done = false;
    const finish = (c: Omit<OutboundCall, 'start' | 'end'>): void => {
      if (done) return;
      done = true;
      onCall({ start, end: Date.now(), ...c });
    };
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => finish({ ok: (res.statusCode ?? 0) < 500, status: res.statusCode }));
      res.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, status: res.statusCode, error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: e.code ?? e.message }));
  };
  // Open loop (one call per period, whatever the previous one is doing), like a steady caller.
  setInterval(once, Math.max(1, everyMs)).unref();
  once();
}
