// The soak's clients. Well-behaved ones (node:http, undici, node:http2, @grpc/grpc-js, TCP) check
// every answer and count each request as ok or lost; careless ones (raw sockets writing exact bytes)
// do what real clients do wrong and only record what they saw. Raw HTTP/2 frames come from the
// tests' frame writer (test/proxy/h2-frames.ts).
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { connect as h2connect, constants as h2c, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Pool } from 'undici';

import { BODY, grpcClient, type SoakGrpcClient } from './service.js';
import * as h2 from '../../test/proxy/h2-frames.js';

export interface Ports { h1: number; h2: number; grpc: number; tcp: number }

export const GOOD_KINDS = ['h1-undici', 'h1-node', 'h2', 'grpc', 'tcp'] as const;
export type GoodKind = (typeof GOOD_KINDS)[number];
/** Share of the well-behaved rate each kind gets. */
export const GOOD_SHARE: Record<GoodKind, number> = { 'h1-undici': 0.3, 'h1-node': 0.2, h2: 0.25, grpc: 0.15, tcp: 0.1 };

export const CARELESS_KINDS = ['h2-fin', 'h1-half-close', 'slowloris', 'rapid-reset', 'pipelining', 'never-reads'] as const;
export type CarelessKind = (typeof CARELESS_KINDS)[number];

const REQUEST_TIMEOUT_MS = 15_000;
const POST_BODY = Buffer.alloc(16 * 1024, 0x62);

class Lost extends Error {}

function withTimeout<T>(p: Promise<T>, what: string, ms = REQUEST_TIMEOUT_MS): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => { t = setTimeout(() => reject(new Lost(`${what}: no answer in ${ms} ms`)), ms); }),
  ]);
}

/** Which request a well-behaved client sends for its nth call: mostly small GETs, some slow, some bodies. */
function variant(n: number): 'get' | 'slow' | 'post' {
  return n % 10 === 3 ? 'slow' : n % 10 === 7 ? 'post' : 'get';
}

export class GoodClients {
  private readonly pool: Pool;
  private readonly agent: HttpAgent;
  private sessions: ClientHttp2Session[] = [];
  private sessionUses = new Map<ClientHttp2Session, number>();
  private readonly grpc: SoakGrpcClient;
  private n = 0;

  constructor(private readonly ports: Ports) {
    // Keep-alive timeouts well under any server's idle timeout, as a careful client sets them.
    this.pool = new Pool(`http://127.0.0.1:${ports.h1}`, { connections: 8, keepAliveTimeout: 2000, keepAliveMaxTimeout: 2000 });
    this.agent = new HttpAgent({ keepAlive: true, maxSockets: 8, timeout: 2000 });
    this.grpc = grpcClient(ports.grpc);
  }

  /** One request of this kind; resolves when its answer checked out, rejects (with the reason) when lost. */
  fire(kind: GoodKind): Promise<void> {
    const n = this.n++;
    switch (kind) {
      case 'h1-undici': return withTimeout(this.undici(n), kind);
      case 'h1-node': return withTimeout(this.node(n), kind);
      case 'h2': return withTimeout(this.h2(n), kind);
      case 'grpc': return withTimeout(this.grpcCall(n), kind);
      case 'tcp': return withTimeout(this.tcp(), kind);
    }
  }

  private async undici(n: number): Promise<void> {
    const v = variant(n);
    const r = await this.pool.request({
      path: v === 'slow' ? '/slow?ms=300' : '/', method: v === 'post' ? 'POST' : 'GET',
      body: v === 'post' ? POST_BODY : undefined,
    });
    const body = Buffer.from(await r.body.arrayBuffer());
    check(r.statusCode, body, v, r.headers['ebb-proxy-error']);
  }

  private node(n: number): Promise<void> {
    const v = variant(n);
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: this.ports.h1, agent: this.agent, method: v === 'post' ? 'POST' : 'GET', path: v === 'slow' ? '/slow?ms=300' : '/' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => { try { check(res.statusCode ?? 0, Buffer.concat(chunks), v, res.headers['ebb-proxy-error']); resolve(); } catch (e) { reject(e as Error); } });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(v === 'post' ? POST_BODY : undefined);
    });
  }

  /** Two sessions at a time, each retired (closed gracefully) after 200 requests, as long-lived clients do. */
  private session(): ClientHttp2Session {
    this.sessions = this.sessions.filter((s) => !s.closed && !s.destroyed);
    if (this.sessions.length < 2) {
      const s = h2connect(`http://127.0.0.1:${this.ports.h2}`);
      s.on('error', () => { /* each stream reports its own failure */ });
      this.sessions.push(s);
    }
    const s = this.sessions[this.n % this.sessions.length]!;
    const uses = (this.sessionUses.get(s) ?? 0) + 1;
    this.sessionUses.set(s, uses);
    if (uses >= 200) { this.sessions = this.sessions.filter((x) => x !== s); this.sessionUses.delete(s); setImmediate(() => s.close()); }
    return s;
  }

  private h2(n: number): Promise<void> {
    const v = variant(n);
    return new Promise((resolve, reject) => {
      const req = this.session().request({ ':method': v === 'post' ? 'POST' : 'GET', ':path': v === 'slow' ? '/slow?ms=300' : '/' }, { endStream: v !== 'post' });
      let status = 0;
      let proxyError: string | undefined;
      const chunks: Buffer[] = [];
      req.on('response', (h) => { status = Number(h[':status']); proxyError = h['ebb-proxy-error'] as string | undefined; });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => { try { check(status, Buffer.concat(chunks), v, proxyError); resolve(); } catch (e) { reject(e as Error); } });
      req.on('error', reject);
      req.on('close', () => { if (req.rstCode && req.rstCode !== h2c.NGHTTP2_NO_ERROR) reject(new Lost(`h2 stream reset (code ${req.rstCode})`)); });
      if (v === 'post') req.end(POST_BODY);
    });
  }

  private grpcCall(n: number): Promise<void> {
    if (n % 4 === 0) {
      return new Promise((resolve, reject) => {
        const call = this.grpc.count({ n: 20 });
        let got = 0;
        call.on('data', () => { got++; });
        call.on('error', (e: Error) => reject(new Lost(`grpc Count: ${e.message}`)));
        call.on('end', () => (got === 20 ? resolve() : reject(new Lost(`grpc Count: ${got} of 20 messages`))));
      });
    }
    return new Promise((resolve, reject) => {
      this.grpc.echo({ n }, (err, res) => {
        if (err) { reject(new Lost(`grpc Echo: ${err.message}`)); return; }
        if ((res as { echo?: { n?: number } }).echo?.n !== n) { reject(new Lost(`grpc Echo: wrong answer ${JSON.stringify(res)}`)); return; }
        resolve();
      });
    });
  }

  private tcp(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sent = Buffer.alloc(4096, 0x63);
      let got = 0;
      const s = tcpConnect(this.ports.tcp, '127.0.0.1');
      s.on('connect', () => s.end(sent));
      s.on('data', (c: Buffer) => { got += c.length; });
      s.on('error', (e) => reject(new Lost(`tcp: ${e.message}`)));
      s.on('end', () => { s.destroy(); if (got === sent.length) resolve(); else reject(new Lost(`tcp: ${got} of ${sent.length} bytes echoed`)); });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.close();
    this.grpc.close();
    this.agent.destroy();
    await this.pool.close().catch(() => {});
  }
}

function check(status: number, body: Buffer, v: 'get' | 'slow' | 'post', proxyError: unknown): void {
  if (status !== 200) throw new Lost(`status ${status}${proxyError ? ` (ebb-proxy-error: ${String(proxyError)})` : ''}`);
  const want = v === 'post' ? POST_BODY : Buffer.from(BODY);
  if (!body.equals(want)) throw new Lost(`wrong body (${body.length} bytes, want ${want.length})`);
}

// ---------- careless clients ----------

export interface CarelessResult {
  /** The server sent anything back. */
  answered: boolean;
  /** The server closed the connection (FIN or reset) before we gave up. */
  serverClosed: boolean;
}

interface Raw { socket: Socket; bytes: () => Buffer; closed: Promise<boolean> }

function raw(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (c: Buffer) => { if (size < 1 << 20) { chunks.push(c); size += c.length; } });
    socket.on('error', () => { /* a reset is one way for the server to close */ });
    // allowHalfOpen (a half-closing client still reads): the server's FIN is 'end', not 'close'.
    let serverClosed = false;
    const closed = new Promise<boolean>((r) => {
      socket.on('end', () => { serverClosed = true; r(true); });
      socket.on('close', (hadError) => r(serverClosed || hadError));
    });
    socket.once('connect', () => resolve({ socket, bytes: () => Buffer.concat(chunks), closed }));
    socket.once('error', reject);
  });
}

/** Waits for the server to close, up to ms; then closes it ourselves. True when the server closed first. */
async function closedWithin(r: Raw, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<false>((res) => { t = setTimeout(() => res(false), ms); });
  const byServer = await Promise.race([r.closed, gaveUp]);
  clearTimeout(t);
  r.socket.destroy();
  return byServer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class CarelessClients {
  private slowloris = 0;
  /** Every socket still open, so the soak can end them all at exit. */
  readonly open = new Set<Socket>();
  constructor(private readonly ports: Ports, private readonly opts: { slowlorisMax: number; slowlorisLifeMs: number }) {}

  async fire(kind: CarelessKind): Promise<CarelessResult | null> {
    if (kind === 'slowloris' && this.slowloris >= this.opts.slowlorisMax) return null;
    const port = kind === 'h2-fin' || kind === 'rapid-reset' ? this.ports.h2 : this.ports.h1;
    const r = await raw(port);
    this.open.add(r.socket);
    r.socket.on('close', () => this.open.delete(r.socket));
    try {
      return await this.run(kind, r);
    } finally {
      r.socket.destroy();
    }
  }

  private async run(kind: CarelessKind, r: Raw): Promise<CarelessResult> {
    const answered = (): boolean => r.bytes().length > 0;
    switch (kind) {
      case 'h2-fin': {
        // As curl --http2-prior-knowledge does: a request, then a plain FIN (no GOAWAY), sometimes
        // while the stream is still open.
        const slow = Math.random() < 0.5;
        r.socket.write(Buffer.concat([h2.PREFACE, h2.settings(), h2.settingsAck(), h2.headers(1, h2.requestFields({ path: slow ? '/slow?ms=500' : '/', authority: 'soak' }), { endStream: true })]));
        if (!slow) await sleep(200);
        r.socket.end();
        return { answered: answered(), serverClosed: await closedWithin(r, 5000) };
      }
      case 'h1-half-close': {
        r.socket.end('GET / HTTP/1.1\r\nHost: soak\r\n\r\n');
        const serverClosed = await closedWithin(r, 5000);
        return { answered: answered(), serverClosed };
      }
      case 'slowloris': {
        this.slowloris++;
        try {
          // One header byte every 2 s: the head never ends.
          r.socket.write('GET / HTTP/1.1\r\nHost: soak\r\nX-Slow: ');
          const until = Date.now() + this.opts.slowlorisLifeMs;
          let closed = false;
          void r.closed.then(() => { closed = true; });
          while (!closed && Date.now() < until) {
            r.socket.write('a');
            await Promise.race([sleep(2000), r.closed]);
          }
          return { answered: answered(), serverClosed: closed };
        } finally {
          this.slowloris--;
        }
      }
      case 'rapid-reset': {
        // HEADERS + RST_STREAM pairs (CVE-2023-44487), 100 of them, then GOAWAY and FIN.
        const frames = [h2.PREFACE, h2.settings(), h2.settingsAck()];
        for (let i = 0; i < 100; i++) {
          const id = 1 + 2 * i;
          frames.push(h2.headers(id, h2.requestFields({ path: '/slow?ms=1000', authority: 'soak' }), { endStream: true }), h2.rstStream(id, h2.ERROR.CANCEL));
        }
        r.socket.write(Buffer.concat(frames));
        await sleep(500);
        r.socket.end(h2.goaway(0, h2.ERROR.NO_ERROR));
        return { answered: answered(), serverClosed: await closedWithin(r, 5000) };
      }
      case 'pipelining': {
        const n = 20;
        r.socket.write('GET / HTTP/1.1\r\nHost: soak\r\n\r\n'.repeat(n - 1) + 'GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n');
        const serverClosed = await closedWithin(r, 10_000);
        return { answered: answered(), serverClosed };
      }
      case 'never-reads': {
        // Asks for 4 MiB and never reads it; gives up after 5 s.
        r.socket.pause();
        r.socket.write('GET /big?kb=4096 HTTP/1.1\r\nHost: soak\r\n\r\n');
        await sleep(5000);
        return { answered: false, serverClosed: false };
      }
    }
  }

  destroyAll(): void {
    for (const s of this.open) s.destroy();
  }
}
