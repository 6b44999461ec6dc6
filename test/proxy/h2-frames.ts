import net from 'node:net';

/**
 * Raw HTTP/2 for tests: build exact frames (RFC 9113 §4.1, §6), write them on a plain TCP socket,
 * and read the peer's frames back, so a test can send what no well-behaved client library would
 * (a HEADERS + RST_STREAM flood, a zero window, a FIN in the middle of a session, `:authority` and
 * `host` that disagree).
 *
 * Header blocks are written as HPACK literals without indexing and without Huffman coding
 * (RFC 7541 §6.2.2), which every decoder accepts and which keeps the bytes predictable. The reader
 * decodes the peer's header blocks in full (static and dynamic table, Huffman strings), so a test
 * can look at `:status` and any other field.
 *
 *   const c = await H2Conn.connect(port);            // preface + empty SETTINGS sent
 *   c.send(headers(1, requestFields({ path: '/' }), { endStream: true }));
 *   const h = await c.headersOf(1);                  // [[':status', '200'], …]
 */

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const FRAME = {
  DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5,
  PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9,
} as const;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export const SETTING = {
  HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5, MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ERROR = {
  NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, FLOW_CONTROL_ERROR: 0x3, SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5, FRAME_SIZE_ERROR: 0x6, REFUSED_STREAM: 0x7, CANCEL: 0x8, COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa, ENHANCE_YOUR_CALM: 0xb, INADEQUATE_SECURITY: 0xc, HTTP_1_1_REQUIRED: 0xd,
} as const;

export type Field = readonly [name: string, value: string];

// ---------------------------------------------------------------------------------------------
// Writing frames

/** One frame: 9-byte header (length, type, flags, stream id) and its payload. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** SETTINGS with the given [id, value] pairs (none: an empty SETTINGS). */
export function settings(entries: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const p = Buffer.alloc(entries.length * 6);
  entries.forEach(([id, v], i) => { p.writeUInt16BE(id, i * 6); p.writeUInt32BE(v, i * 6 + 2); });
  return frame(FRAME.SETTINGS, 0, 0, p);
}

export function settingsAck(): Buffer {
  return frame(FRAME.SETTINGS, FLAG.ACK, 0);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, first = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) { out.push((v % 128) + 128); v = Math.floor(v / 128); }
  out.push(v);
  return out;
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(b.length, 7)), b]); // H = 0: not Huffman coded
}

/** A header block of literals without indexing, new names, no Huffman (RFC 7541 §6.2.2). */
export function headerBlock(fields: readonly Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of fields) parts.push(Buffer.from([0x00]), hpackString(n), hpackString(v));
  return Buffer.concat(parts);
}

export interface HeadersOptions {
  endStream?: boolean;
  /** false: the block continues in CONTINUATION frames (default true). */
  endHeaders?: boolean;
}

/** HEADERS carrying the fields (or an already encoded block). */
export function headers(streamId: number, fields: readonly Field[] | Buffer, opts: HeadersOptions = {}): Buffer {
  const block = Buffer.isBuffer(fields) ? fields : headerBlock(fields);
  const flags = (opts.endStream ? FLAG.END_STREAM : 0) | (opts.endHeaders === false ? 0 : FLAG.END_HEADERS);
  return frame(FRAME.HEADERS, flags, streamId, block);
}

export function continuation(streamId: number, block: Buffer, endHeaders: boolean): Buffer {
  return frame(FRAME.CONTINUATION, endHeaders ? FLAG.END_HEADERS : 0, streamId, block);
}

export function data(streamId: number, payload: Buffer | string, endStream = false): Buffer {
  return frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, streamId, Buffer.isBuffer(payload) ? payload : Buffer.from(payload));
}

export function rstStream(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export function windowUpdate(streamId: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment & 0x7fffffff);
  return frame(FRAME.WINDOW_UPDATE, 0, streamId, p);
}

export function goaway(lastStreamId: number, code: number, debug = ''): Buffer {
  const p = Buffer.alloc(8 + Buffer.byteLength(debug));
  p.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  p.writeUInt32BE(code, 4);
  p.write(debug, 8);
  return frame(FRAME.GOAWAY, 0, 0, p);
}

export function ping(opaque: Buffer = Buffer.alloc(8), ack = false): Buffer {
  return frame(FRAME.PING, ack ? FLAG.ACK : 0, 0, opaque);
}

export interface RequestSpec {
  method?: string;
  path?: string;
  scheme?: string;
  /** `:authority`; null leaves it out. */
  authority?: string | null;
  /** Fields after the pseudo-headers. */
  extra?: readonly Field[];
}

/** The fields of an ordinary request: pseudo-headers first, then `extra`. */
export function requestFields(spec: RequestSpec = {}): Field[] {
  const out: Field[] = [[':method', spec.method ?? 'GET'], [':scheme', spec.scheme ?? 'http'], [':path', spec.path ?? '/']];
  const authority = spec.authority === undefined ? 'localhost' : spec.authority;
  if (authority !== null) out.push([':authority', authority]);
  out.push(...(spec.extra ?? []));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading frames

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** Splits a byte stream into frames; keeps an incomplete tail for the next push. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      out.push({ type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
      this.buf = this.buf.subarray(9 + len);
    }
    return out;
  }
}

export function parseGoaway(f: Frame): { lastStreamId: number; code: number; debug: string } {
  return { lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4), debug: f.payload.subarray(8).toString() };
}

export function parseRstStream(f: Frame): number {
  return f.payload.readUInt32BE(0);
}

export function parseSettings(f: Frame): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i + 6 <= f.payload.length; i += 6) m.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
  return m;
}

export function parseWindowUpdate(f: Frame): number {
  return f.payload.readUInt32BE(0) & 0x7fffffff;
}

/** The header block fragment of a HEADERS frame, without padding and priority fields. */
export function headerBlockOf(f: Frame): Buffer {
  let p = f.payload;
  let pad = 0;
  if (f.flags & FLAG.PADDED) { pad = p[0]!; p = p.subarray(1); }
  if (f.type === FRAME.HEADERS && (f.flags & FLAG.PRIORITY)) p = p.subarray(5);
  return p.subarray(0, p.length - pad);
}

// HPACK static table (RFC 7541 Appendix A), index 1..61.
const STATIC: readonly Field[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

// Code lengths of the HPACK Huffman code for symbols 0..256 (RFC 7541 Appendix B). The code is
// canonical, so the codes themselves follow from the lengths (ordered by length, then symbol).
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6,
  12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13,
  14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14,
  13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23,
  23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22,
  22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27,
  27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27,
  27, 26, 30,
];

/** "length:code" → symbol, built once from the canonical lengths. */
const HUFFMAN_DECODE: ReadonlyMap<string, number> = (() => {
  const order = HUFFMAN_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const m = new Map<string, number>();
  let code = 0;
  let prev = order[0]!.len;
  for (const { len, sym } of order) {
    code *= 2 ** (len - prev);
    prev = len;
    m.set(`${len}:${code}`, sym);
    code++;
  }
  return m;
})();

function huffmanDecode(b: Buffer): Buffer {
  const out: number[] = [];
  let code = 0;
  let len = 0;
  for (const byte of b) {
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const sym = HUFFMAN_DECODE.get(`${len}:${code}`);
      if (sym === undefined) {
        if (len > 30) throw new Error('bad Huffman code');
        continue;
      }
      if (sym === 256) throw new Error('EOS in a Huffman string');
      out.push(sym);
      code = 0;
      len = 0;
    }
  }
  if (len > 7 || code !== 2 ** len - 1) throw new Error('bad Huffman padding');
  return Buffer.from(out);
}

/** An HPACK decoder (RFC 7541) for the header blocks a peer sends on one connection. */
export class HpackDecoder {
  private dynamic: Field[] = [];
  private size = 0;
  private maxSize = 4096;

  decode(block: Buffer): Field[] {
    const out: Field[] = [];
    let i = 0;
    const int = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1;
      let v = block[i++]! & max;
      if (v < max) return v;
      let m = 1;
      for (;;) {
        const b = block[i++]!;
        v += (b & 0x7f) * m;
        m *= 128;
        if ((b & 0x80) === 0) return v;
      }
    };
    const str = (): string => {
      const huff = (block[i]! & 0x80) !== 0;
      const n = int(7);
      const raw = block.subarray(i, i + n);
      i += n;
      return (huff ? huffmanDecode(raw) : raw).toString('latin1');
    };
    const entry = (idx: number): Field => {
      const f = idx <= STATIC.length ? STATIC[idx - 1] : this.dynamic[idx - STATIC.length - 1];
      if (!f) throw new Error(`HPACK index ${idx} out of range`);
      return f;
    };
    while (i < block.length) {
      const b = block[i]!;
      if (b & 0x80) { out.push(entry(int(7))); continue; } // indexed field
      if ((b & 0xe0) === 0x20) { this.maxSize = int(5); this.evict(); continue; } // table size update
      const indexing = (b & 0xc0) === 0x40;
      const idx = int(indexing ? 6 : 4); // with incremental indexing, or without / never indexed
      const name = idx === 0 ? str() : entry(idx)[0];
      const f: Field = [name, str()];
      out.push(f);
      if (indexing) this.add(f);
    }
    return out;
  }

  private add(f: Field): void {
    this.dynamic.unshift(f);
    this.size += f[0].length + f[1].length + 32;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.dynamic.length) {
      const f = this.dynamic.pop()!;
      this.size -= f[0].length + f[1].length + 32;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A raw connection

export interface ConnectOptions {
  /** SETTINGS sent right after the preface (default: none, an empty SETTINGS). */
  settings?: ReadonlyArray<readonly [number, number]>;
  /** Answer the peer's SETTINGS with an ACK (default true). */
  ackSettings?: boolean;
  /** Send the preface and SETTINGS at once (default true). */
  preface?: boolean;
}

/**
 * One raw HTTP/2 client connection to 127.0.0.1:port. Every frame the peer sends is kept in
 * `frames`, header blocks are decoded in order into `headersByStream`. Waits are bounded: they fail
 * with what was awaited and what arrived instead.
 */
export class H2Conn {
  readonly frames: Frame[] = [];
  /** Decoded header blocks per stream (response headers, then trailers). */
  readonly headersByStream = new Map<number, Field[][]>();
  /** Resolves once the peer has closed the connection (or it failed). */
  readonly closed: Promise<void>;
  private readonly parser = new FrameParser();
  private readonly decoder = new HpackDecoder();
  private readonly waiters = new Set<() => void>();
  private pendingBlock: { streamId: number; parts: Buffer[] } | null = null;
  private ended = false;

  private constructor(readonly socket: net.Socket, private readonly opts: ConnectOptions) {
    socket.on('error', () => {}); // a reset shows as `closed` and missing frames
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => socket.once('close', () => { this.ended = true; this.wake(); resolve(); }));
  }

  static async connect(port: number, opts: ConnectOptions = {}): Promise<H2Conn> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    const c = new H2Conn(socket, opts);
    if (opts.preface !== false) c.send(PREFACE, settings(opts.settings ?? []));
    return c;
  }

  send(...bufs: Buffer[]): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
  }

  /** Whether the peer has closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  private onData(chunk: Buffer): void {
    for (const f of this.parser.push(chunk)) {
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK) && this.opts.ackSettings !== false) this.send(settingsAck());
      if (f.type === FRAME.HEADERS || f.type === FRAME.PUSH_PROMISE) {
        this.pendingBlock = { streamId: f.streamId, parts: [f.type === FRAME.HEADERS ? headerBlockOf(f) : f.payload.subarray(4)] };
      } else if (f.type === FRAME.CONTINUATION && this.pendingBlock) {
        this.pendingBlock.parts.push(f.payload);
      }
      if ((f.type === FRAME.HEADERS || f.type === FRAME.CONTINUATION) && (f.flags & FLAG.END_HEADERS) && this.pendingBlock) {
        const { streamId, parts } = this.pendingBlock;
        this.pendingBlock = null;
        const list = this.headersByStream.get(streamId) ?? [];
        list.push(this.decoder.decode(Buffer.concat(parts)));
        this.headersByStream.set(streamId, list);
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first frame (from the start of the connection) that matches; rejects when
   * the connection closes without one, or after `timeoutMs`.
   */
  waitForFrame(pred: (f: Frame) => boolean, what: string, timeoutMs = 10_000): Promise<Frame> {
    return this.until(() => this.frames.find(pred), what, timeoutMs);
  }

  /** Resolves with the value once `check` returns one (re-checked on every frame and at close). */
  until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (): void => { clearTimeout(timer); this.waiters.delete(poll); };
      const poll = (): void => {
        const v = check();
        if (v !== undefined) { done(); resolve(v); return; }
        if (this.ended) { done(); reject(new Error(`connection closed before ${what}; got ${this.describe()}`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`no ${what} within ${timeoutMs} ms; got ${this.describe()}`)); }, timeoutMs);
      this.waiters.add(poll);
      poll();
    });
  }

  /** The first header block the peer sent on a stream (its response headers), as a plain object. */
  async headersOf(streamId: number, timeoutMs?: number): Promise<Record<string, string>> {
    const block = await this.until(() => this.headersByStream.get(streamId)?.[0], `response headers on stream ${streamId}`, timeoutMs);
    return Object.fromEntries(block);
  }

  /** Resolves with the peer's GOAWAY. */
  async goaway(timeoutMs?: number): Promise<{ lastStreamId: number; code: number; debug: string }> {
    return parseGoaway(await this.waitForFrame((f) => f.type === FRAME.GOAWAY, 'GOAWAY', timeoutMs));
  }

  /** DATA received on a stream so far, concatenated. */
  body(streamId: number): Buffer {
    return Buffer.concat(this.frames.filter((f) => f.type === FRAME.DATA && f.streamId === streamId).map((f) => dataPayload(f)));
  }

  /** Whether the peer ended the stream (END_STREAM) or reset it. */
  streamDone(streamId: number): boolean {
    return this.frames.some((f) => f.streamId === streamId &&
      (f.type === FRAME.RST_STREAM || ((f.type === FRAME.DATA || f.type === FRAME.HEADERS) && (f.flags & FLAG.END_STREAM) !== 0)));
  }

  /** A short summary of the frames received, for failure messages. */
  describe(): string {
    const names = Object.fromEntries(Object.entries(FRAME).map(([k, v]) => [v, k]));
    const counts = new Map<string, number>();
    for (const f of this.frames) {
      const k = names[f.type] ?? `type ${f.type}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts.size ? [...counts].map(([k, n]) => `${n} ${k}`).join(', ') : 'no frames';
  }

  /** Half-closes (FIN) the client side. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A DATA frame's payload without padding. */
export function dataPayload(f: Frame): Buffer {
  if (!(f.flags & FLAG.PADDED)) return f.payload;
  return f.payload.subarray(1, f.payload.length - f.payload[0]!);
}
