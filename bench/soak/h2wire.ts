// A minimal HTTP/2 frame writer for careless and hostile clients: the exact bytes, no library
// between them and the wire (node:http2 would never send a stream reset storm or a zero window).
// HPACK: literal header fields without indexing and without Huffman coding (RFC 7541 §6.2.2),
// which every decoder must accept.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

export function settings(values: Array<[number, number]> = []): Buffer {
  const p = Buffer.alloc(values.length * 6);
  values.forEach(([id, v], i) => { p.writeUInt16BE(id, i * 6); p.writeUInt32BE(v, i * 6 + 2); });
  return frame(TYPE.SETTINGS, 0, 0, p);
}

export const settingsAck = (): Buffer => frame(TYPE.SETTINGS, FLAG.ACK, 0);

function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) { out.push((value % 128) + 128); value = Math.floor(value / 128); }
  out.push(value);
  return Buffer.from(out);
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
}

/** An HPACK header block of literal fields (new names, never indexed by the decoder's table). */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  return Buffer.concat(headers.flatMap(([n, v]) => [Buffer.from([0x00]), hpackString(n), hpackString(v)]));
}

export function requestHeaders(path = '/', method = 'GET', authority = 'soak', extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', method], [':scheme', 'http'], [':authority', authority], [':path', path], ...extra];
}

export function headers(stream: number, block: Buffer, endStream = true): Buffer {
  return frame(TYPE.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), stream, block);
}

export function rstStream(stream: number, code: number = ERROR.CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(TYPE.RST_STREAM, 0, stream, p);
}

export function goaway(lastStream = 0, code: number = ERROR.NO_ERROR): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastStream & 0x7fffffff, 0);
  p.writeUInt32BE(code, 4);
  return frame(TYPE.GOAWAY, 0, 0, p);
}

export function windowUpdate(stream: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment & 0x7fffffff);
  return frame(TYPE.WINDOW_UPDATE, 0, stream, p);
}

export interface Frame { type: number; flags: number; stream: number; payload: Buffer }

/** Reads frames from the bytes a server sent (after its own preface-less start: h2 servers send SETTINGS first). */
export class FrameReader {
  private buf = Buffer.alloc(0);
  readonly frames: Frame[] = [];
  push(chunk: Buffer): Frame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const got: Frame[] = [];
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f = { type: this.buf[3]!, flags: this.buf[4]!, stream: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) };
      this.buf = this.buf.subarray(9 + len);
      got.push(f);
    }
    if (this.frames.length < 10_000) this.frames.push(...got);
    return got;
  }
}

/** A GOAWAY frame's error code, or null when the frame is not a GOAWAY. */
export const goawayCode = (f: Frame): number | null => (f.type === TYPE.GOAWAY && f.payload.length >= 8 ? f.payload.readUInt32BE(4) : null);

/**
 * The :status of a HEADERS frame, when the server encoded it the way servers do (an indexed field of
 * the static table, 0x88-0x8e, or a literal with indexed name 8-14); null when it cannot be read cheaply.
 */
export function statusOf(f: Frame): number | null {
  if (f.type !== TYPE.HEADERS || f.payload.length === 0) return null;
  let p = f.payload;
  if (f.flags & 0x8) p = p.subarray(1); // PADDED
  if (f.flags & 0x20) p = p.subarray(5); // PRIORITY
  const b = p[0]!;
  const table: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 };
  if (table[b]) return table[b]!;
  // Literal with an indexed :status name (index 8-14), with or without indexing; value is a raw or Huffman string.
  const nameIdx = (b & 0xc0) === 0x40 ? b & 0x3f : (b & 0xf0) === 0 || (b & 0xf0) === 0x10 ? b & 0x0f : -1;
  if (nameIdx >= 8 && nameIdx <= 14) {
    const lenByte = p[1]!;
    const huff = (lenByte & 0x80) !== 0;
    const len = lenByte & 0x7f;
    if (!huff) return Number(p.subarray(2, 2 + len).toString('latin1'));
    return huffmanStatus(p.subarray(2, 2 + len));
  }
  return null;
}

// Huffman codes of the digits 0-9 (RFC 7541 Appendix B): 5 bits for 0, 1, 2; 6 bits for 3-9.
const DIGITS: Array<[number, number]> = [[0x0, 5], [0x1, 5], [0x2, 5], [0x19, 6], [0x1a, 6], [0x1b, 6], [0x1c, 6], [0x1d, 6], [0x1e, 6], [0x1f, 6]];

function huffmanStatus(b: Buffer): number | null {
  let bits = '';
  for (const x of b) bits += x.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  while (out.length < 3) {
    const hit = DIGITS.findIndex(([code, n]) => bits.slice(i, i + n) === code.toString(2).padStart(n, '0'));
    if (hit < 0) return null;
    out += String(hit);
    i += DIGITS[hit]![1];
  }
  return Number(out);
}
