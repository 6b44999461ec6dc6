// Raw client connections for the hostile cases: write exact bytes (with pauses), read everything,
// note when and whether the server closed, and read back HTTP/1 statuses or HTTP/2 frames.
import { connect, type Socket } from 'node:net';
import * as h2 from '../../test/proxy/h2-frames.js';

export type Step = Buffer | string | { waitMs: number } | 'shut-wr';

export interface Exchange {
  data: Buffer;
  /** The server closed (FIN or reset) before we gave up. */
  closed: boolean;
  /** Milliseconds from the last step written to the server's close (null if it did not close). */
  closeMs: number | null;
  /** Milliseconds from the last step written to the first byte back (null if nothing came). */
  firstByteMs: number | null;
  reset: boolean;
  /** done() said enough was read before the server closed (a kept-alive connection). */
  doneEarly: boolean;
}

/**
 * Connects to 127.0.0.1:port, runs the steps, then waits up to waitMs for the server to close (or
 * until done(data) says enough was read), and closes. Everything is bounded by waitMs.
 */
export async function exchange(port: number, steps: Step[], waitMs: number, done?: (data: Buffer) => boolean, onSocket?: (s: Socket) => void): Promise<Exchange> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  onSocket?.(socket);
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  const chunks: Buffer[] = [];
  let size = 0;
  let lastWrite = performance.now();
  let firstByteMs: number | null = null;
  let closeMs: number | null = null;
  let reset = false;
  let doneEarly = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => { finish = r; });
  socket.on('data', (c: Buffer) => {
    if (firstByteMs === null) firstByteMs = performance.now() - lastWrite;
    if (size < 64 << 20) { chunks.push(c); size += c.length; }
    if (closeMs === null && done?.(Buffer.concat(chunks))) { doneEarly = true; finish(); }
  });
  socket.on('error', () => { reset = true; });
  // allowHalfOpen (so a half-closing client can still read): the server's FIN is 'end', not 'close'.
  const closedNow = (): void => { if (closeMs === null && !doneEarly) closeMs = performance.now() - lastWrite; finish(); };
  socket.on('end', closedNow);
  socket.on('close', closedNow);
  for (const s of steps) {
    if (socket.destroyed) break;
    if (typeof s === 'object' && 'waitMs' in s) { await Promise.race([new Promise((r) => setTimeout(r, s.waitMs)), finished]); continue; }
    if (s === 'shut-wr') socket.end(); else socket.write(s);
    lastWrite = performance.now();
    firstByteMs = null;
  }
  const timer = setTimeout(finish, waitMs);
  await finished;
  clearTimeout(timer);
  const closed = closeMs !== null;
  socket.destroy();
  return { data: Buffer.concat(chunks), closed, closeMs: closed ? closeMs : null, firstByteMs, reset, doneEarly };
}

export interface H1Response { status: number; bodyBytes: number; complete: boolean; close: boolean }

/** HTTP/1 responses in order; stops at bytes that are not a response (reported in `garbage`). */
export function h1Responses(data: Buffer): { responses: H1Response[]; garbage: string | null } {
  const out: H1Response[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at, 'latin1');
    const head = data.subarray(at, end < 0 ? Math.min(data.length, at + 200) : end).toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m || end < 0) return { responses: out, garbage: `${data.length - at} bytes not a response: ${JSON.stringify(head.slice(0, 40))}` };
    const status = Number(m[1]);
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    const close = /\r\nconnection:\s*close/i.test(head);
    at = end + 4;
    if (status < 200 || status === 204 || status === 304) { out.push({ status, bodyBytes: 0, complete: true, close }); continue; }
    if (cl) {
      const len = Number(cl[1]);
      const have = Math.min(len, data.length - at);
      // A response written over this one's body shows as a status line inside it.
      const inside = data.subarray(at, at + have).indexOf('HTTP/1.1 ', 0, 'latin1');
      if (inside >= 0 && have > 0) { out.push({ status, bodyBytes: inside, complete: false, close }); return { responses: out, garbage: `another response starts ${inside} bytes into this body` }; }
      out.push({ status, bodyBytes: have, complete: have === len, close });
      at += have;
      if (have < len) break;
      continue;
    }
    if (chunked) {
      const term = data.indexOf('\r\n0\r\n\r\n', at - 2, 'latin1');
      const stop = term < 0 ? data.length : term + 7;
      out.push({ status, bodyBytes: stop - at, complete: term >= 0, close });
      at = stop;
      continue;
    }
    out.push({ status, bodyBytes: data.length - at, complete: true, close: true });
    break;
  }
  return { responses: out, garbage: null };
}

/** "200, 400" style list of the statuses, with notes on incomplete bodies. */
export function h1Summary(data: Buffer, maxList = 6): string {
  const { responses, garbage } = h1Responses(data);
  if (responses.length === 0 && !garbage) return 'no response';
  const parts = responses.map((r) => `${r.status}${r.complete ? '' : ` (body cut at ${fmtBytes(r.bodyBytes)})`}`);
  let list = parts.join(', ');
  if (parts.length > maxList) {
    const counts = new Map<string, number>();
    for (const p of parts) counts.set(p, (counts.get(p) ?? 0) + 1);
    list = [...counts].map(([p, n]) => `${n}× ${p}`).join(', ');
  }
  return `${list || 'no response'}${garbage ? `; ${garbage}` : ''}`;
}

export const fmtBytes = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export interface H2Summary {
  statuses: Map<number, number>;
  rst: Map<number, number>;
  goaway: number | null;
  maxConcurrentStreams: number | null;
  dataBytes: number;
}

export function h2Summary(data: Buffer): H2Summary {
  const frames = new h2.FrameParser().push(data);
  const hpack = new h2.HpackDecoder();
  const s: H2Summary = { statuses: new Map(), rst: new Map(), goaway: null, maxConcurrentStreams: null, dataBytes: 0 };
  let block: Buffer[] = [];
  for (const f of frames) {
    if (f.type === h2.FRAME.HEADERS || f.type === h2.FRAME.CONTINUATION) {
      block.push(f.type === h2.FRAME.HEADERS ? h2.headerBlockOf(f) : f.payload);
      if (!(f.flags & h2.FLAG.END_HEADERS)) continue;
      let fields: h2.Field[] = [];
      try { fields = hpack.decode(Buffer.concat(block)); } catch { /* a block we cannot decode counts as no status */ }
      block = [];
      const st = fields.find(([n]) => n === ':status')?.[1];
      if (st) s.statuses.set(Number(st), (s.statuses.get(Number(st)) ?? 0) + 1);
    } else if (f.type === h2.FRAME.RST_STREAM && f.payload.length >= 4) {
      const c = h2.parseRstStream(f);
      s.rst.set(c, (s.rst.get(c) ?? 0) + 1);
    } else if (f.type === h2.FRAME.GOAWAY && f.payload.length >= 8) {
      s.goaway = h2.parseGoaway(f).code;
    } else if (f.type === h2.FRAME.SETTINGS && !(f.flags & h2.FLAG.ACK)) {
      const m = h2.parseSettings(f).get(h2.SETTING.MAX_CONCURRENT_STREAMS);
      if (m !== undefined) s.maxConcurrentStreams = m;
    } else if (f.type === h2.FRAME.DATA) s.dataBytes += f.payload.length;
  }
  return s;
}

const H2_ERRORS: Record<number, string> = { 0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 5: 'STREAM_CLOSED', 6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 9: 'COMPRESSION_ERROR', 11: 'ENHANCE_YOUR_CALM' };
export const h2Error = (c: number): string => H2_ERRORS[c] ?? String(c);

export function h2Text(s: H2Summary): string {
  const parts: string[] = [];
  if (s.statuses.size) parts.push([...s.statuses].map(([st, n]) => (n > 1 ? `${n}× ${st}` : String(st))).join(', '));
  if (s.rst.size) parts.push(`RST ${[...s.rst].map(([c, n]) => `${n}× ${h2Error(c)}`).join(', ')}`);
  if (s.goaway !== null) parts.push(`GOAWAY ${h2Error(s.goaway)}`);
  return parts.join('; ') || 'no response';
}

export const ms = (v: number | null): string => (v === null ? '?' : v >= 10_000 ? `${Math.round(v / 1000)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

/** "closed 3 ms after" / "still open after 5 s" for the end of an exchange. */
export function closeText(e: Exchange, waitedMs: number): string {
  if (e.closed) return `closed after ${ms(e.closeMs)}${e.reset ? ' (reset)' : ''}`;
  return e.doneEarly ? 'kept open' : `still open after ${ms(waitedMs)}`;
}
