// The app behind each proxy in the hostile-client comparison, in the harness's own process so it can
// tell what reached it: an HTTP/1 server and an h2c server on 127.0.0.1, recording every request
// (method, target, Host / :authority, body bytes, which app connection carried it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';

export interface Seen { proto: 'h1' | 'h2'; method: string; target: string; host: string; bodyBytes: number; conn: number; headerCount: number }

export class RecordingApp {
  readonly seen: Seen[] = [];
  /** Requests the app's own parser refused (node answers 400 itself). */
  appParseErrors = 0;
  private conns = new WeakMap<object, number>();
  private nextConn = 1;
  private readonly h1: Server;
  private readonly h2: Http2Server;
  private readonly sockets = new Set<Socket>();
  h1Port = 0;
  h2Port = 0;

  constructor() {
    this.h1 = createServer((req, res) => this.h1Request(req, res));
    this.h1.keepAliveTimeout = 120_000;
    this.h1.headersTimeout = 121_000;
    this.h1.requestTimeout = 0;
    this.h1.maxHeadersCount = 0;
    this.h1.on('connection', (s: Socket) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    // As node's default handler does, with a mark: this 400 comes from the app's own parser.
    this.h1.on('clientError', (_e, s: Socket) => {
      this.appParseErrors++;
      if (s.writable) s.end('HTTP/1.1 400 Bad Request\r\nX-From: app-parser\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else s.destroy();
    });
    // A raw tunnel after CONNECT or an upgrade the app accepts: nothing here accepts them.
    this.h2 = createH2Server({ maxHeaderListPairs: 4000 });
    this.h2.on('stream', (stream, headers) => this.h2Stream(stream, headers));
    this.h2.on('sessionError', () => {});
    this.h2.on('connection', (s: Socket) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async listen(): Promise<void> {
    const l = (s: Server | Http2Server): Promise<number> => new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
    this.h1Port = await l(this.h1);
    this.h2Port = await l(this.h2);
  }

  /** Connections open to the app now (the proxy's upstream connections and pool). */
  openConnections(): number { return this.sockets.size; }

  reset(): void { this.seen.length = 0; this.appParseErrors = 0; }

  /** The requests seen whose target contains tag. */
  tagged(tag: string): Seen[] { return this.seen.filter((s) => s.target.includes(tag)); }

  private connOf(key: object): number {
    let id = this.conns.get(key);
    if (!id) { id = this.nextConn++; this.conns.set(key, id); }
    return id;
  }

  private h1Request(req: IncomingMessage, res: ServerResponse): void {
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => { bodyBytes += c.length; });
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      this.seen.push({ proto: 'h1', method: req.method ?? '', target: req.url ?? '', host: req.headers.host ?? '(none)', bodyBytes, conn: this.connOf(req.socket), headerCount: req.rawHeaders.length / 2 });
      if (req.headers.upgrade) { // no upgrade is ever accepted: an ordinary 400
        res.writeHead(400, { 'content-length': 12 }); res.end('no upgrades\n'); return;
      }
      answer(req.url ?? '/', (status, headers, body) => { res.writeHead(status, headers); write(res, body); }, res);
    });
  }

  private h2Stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    let bodyBytes = 0;
    stream.on('data', (c: Buffer) => { bodyBytes += c.length; });
    stream.on('error', () => {});
    const target = String(headers[':path'] ?? '');
    stream.on('end', () => {
      this.seen.push({ proto: 'h2', method: String(headers[':method']), target, host: `${String(headers[':authority'] ?? '(none)')}${headers.host ? ` host=${String(headers.host)}` : ''}`, bodyBytes, conn: this.connOf(stream.session!), headerCount: Object.keys(headers).length });
      if (stream.destroyed) return;
      answer(target, (status, h, body) => { if (!stream.destroyed) { stream.respond({ ':status': status, ...h }); write(stream, body); } }, stream);
    });
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.h1.close();
    this.h2.close();
  }
}

type Body = { kind: 'text'; text: string } | { kind: 'big'; kib: number };

/** /slow?ms=N waits, /big?kb=N sends N KiB, anything else a small body. */
function answer(target: string, respond: (status: number, headers: Record<string, string | number>, body: Body) => void, closeable: { on(e: 'close', f: () => void): unknown }): void {
  const url = new URL(target.startsWith('/') ? target : '/', 'http://app');
  if (url.pathname.endsWith('/slow')) {
    const t = setTimeout(() => respond(200, { 'content-length': 3 }, { kind: 'text', text: 'ok\n' }), Math.min(Number(url.searchParams.get('ms') ?? 500), 60_000));
    closeable.on('close', () => clearTimeout(t));
    return;
  }
  if (url.pathname.endsWith('/big')) {
    // Whole 64 KiB blocks.
    const kib = Math.max(64, Math.round(Math.min(Number(url.searchParams.get('kb') ?? 1024), 256 * 1024) / 64) * 64);
    respond(200, { 'content-length': kib * 1024 }, { kind: 'big', kib });
    return;
  }
  respond(200, { 'content-length': 3 }, { kind: 'text', text: 'ok\n' });
}

interface Writable { write(b: Buffer | string): boolean; end(b?: Buffer | string): unknown; once(e: 'drain', f: () => void): unknown; destroyed: boolean }

function write(w: Writable | ServerResponse | ServerHttp2Stream, body: Body): void {
  const out = w as Writable;
  if (body.kind === 'text') { out.end(body.text); return; }
  const block = Buffer.alloc(64 * 1024, 0x61);
  let left = body.kib / 64;
  const more = (): void => {
    while (left > 0 && !out.destroyed) {
      left--;
      if (!out.write(block)) { out.once('drain', more); return; }
    }
    if (!out.destroyed) out.end();
  };
  more();
}
