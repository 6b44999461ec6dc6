import type { Socket } from 'node:net';

/**
 * Protocol detection from a connection's first bytes: the HTTP/2 connection preface (h2c with
 * prior knowledge), an HTTP/1 request line, or anything else (opaque TCP). The bytes read are put
 * back (unshift) so the protocol handler sees the connection from its start.
 *
 * A client that sends nothing first (a server-speaks-first protocol such as MySQL or SMTP) is
 * treated as TCP after DETECT_TIMEOUT_MS; the well-known ports of such protocols skip detection
 * (SERVER_FIRST_PORTS), and --opaque-ports adds others.
 */
export type Detected = 'http1' | 'http2' | 'tcp';
export const DETECT_TIMEOUT_MS = 3_000;

/**
 * Ports proxied as TCP without detection, inbound and outbound: protocols in which the server speaks
 * first (SMTP, MySQL, …) or that are never HTTP (PostgreSQL, Redis, …) would otherwise wait the
 * detection timeout on every connection. Linkerd's default opaque ports.
 */
export const SERVER_FIRST_PORTS: ReadonlySet<number> = new Set([25, 587, 3306, 4444, 5432, 6379, 9300, 11211]);

/** Whether connections to this port (the app's, or an outbound destination's) skip detection. */
export function isOpaquePort(opaquePorts: ReadonlySet<number>, port: number): boolean {
  return SERVER_FIRST_PORTS.has(port) || opaquePorts.has(port);
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const MAX_METHOD = 20;
/** Leading empty lines skipped before a request line (RFC 9112 §2.2 asks for at least one). */
const MAX_LEADING_EOL = 16;
/** How far to look for the end of a request line that is not plainly HTTP: nginx's 8 KB line buffer. */
export const MAX_DETECT_LINE = 8192;
/** A request line, leniently: a token, whitespace, a target, whitespace, an HTTP/1 version. */
const LOOSE_REQUEST_LINE = /^[!-~]+[ \t]+[^\r\n]*[ \t]HTTP\/1\.\d\r?$/i;

function isToken(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x2c && c !== 0x2f && c !== 0x3a && c !== 0x3b &&
    !(c >= 0x3c && c <= 0x40) && c !== 0x5b && c !== 0x5c && c !== 0x5d && c !== 0x7b && c !== 0x7d && c !== 0x22;
}

/**
 * 'more' when the bytes so far could still be either.
 *
 * HTTP/1 is recognised in two ways. The fast path: an uppercase method and a space. Otherwise,
 * once the first line is complete, any line shaped like a request line (`get / HTTP/1.1`,
 * `GET\t/ HTTP/1.1`, after empty lines) is HTTP/1 too, so that the HTTP parser answers it (400
 * for a lowercase method or a tab) instead of the connection being piped to the app as opaque
 * bytes: bytes smuggled behind such a line would otherwise reach the app verbatim.
 */
export function classify(buf: Buffer): Detected | 'more' {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return buf.length >= H2_PREFACE.length ? 'http2' : 'more';
  let at = 0;
  while (at < buf.length && at < MAX_LEADING_EOL && (buf[at] === 0x0d || buf[at] === 0x0a)) at++;
  if (at === buf.length) return at < MAX_LEADING_EOL ? 'more' : 'tcp';
  // Fast path: an uppercase method token and a space.
  let fast: Detected | 'more' | 'slow' = 'slow';
  for (let i = at; i < buf.length && i - at <= MAX_METHOD; i++) {
    const c = buf[i]!;
    if (c === 0x20) { fast = i > at ? 'http1' : 'slow'; break; }
    if ((c < 0x41 || c > 0x5a) && c !== 0x2d && c !== 0x5f) break;
    if (i === buf.length - 1) fast = 'more';
  }
  if (fast !== 'slow') return fast;
  // Slow path: the first line, once complete, shaped like a request line. Anything that is not
  // text (a TLS ClientHello, a binary protocol) is TCP at once.
  const eol = buf.indexOf(0x0a, at);
  const lineEnd = eol < 0 ? buf.length : eol;
  for (let i = at; i < lineEnd; i++) {
    const c = buf[i]!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0d) || c === 0x7f) return 'tcp';
  }
  if (!isToken(buf[at]!)) return 'tcp';
  if (eol < 0) return buf.length - at < MAX_DETECT_LINE ? 'more' : 'tcp';
  return LOOSE_REQUEST_LINE.test(buf.toString('latin1', at, eol)) ? 'http1' : 'tcp';
}

/**
 * What a client that stopped sending before the protocol was clear is taken for: a method's first
 * letters (a slowloris client, one byte at a time), or only empty lines, are HTTP/1, so that
 * HTTP's request-header timeout applies to them; nothing at all (a server-speaks-first protocol),
 * or anything else, is TCP.
 */
export function classifyStalled(buf: Buffer | null): Detected {
  if (!buf || buf.length === 0) return 'tcp';
  let at = 0;
  while (at < buf.length && (buf[at] === 0x0d || buf[at] === 0x0a)) at++;
  for (let i = at; i < buf.length; i++) if (!isToken(buf[i]!)) return 'tcp';
  return 'http1';
}

/**
 * Calls `done` once with the protocol. `leftover` is set only when the bytes could not be put
 * back (the client already half-closed): the handler must send them first.
 */
export function detectProtocol(socket: Socket, timeoutMs: number, done: (p: Detected, leftover?: Buffer) => void): void {
  let seen: Buffer | null = null;
  let finished = false;
  const finish = (p: Detected, ended = false): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    socket.pause();
    if (seen && !ended) socket.unshift(seen);
    done(p, ended && seen ? seen : undefined);
  };
  const onClose = (): void => { finished = true; clearTimeout(timer); };
  const onData = (chunk: Buffer): void => {
    seen = seen ? Buffer.concat([seen, chunk]) : chunk;
    const p = classify(seen);
    if (p !== 'more') finish(p);
  };
  // The client half-closed before we could tell: whatever it sent goes to the app as bytes.
  const onEnd = (): void => finish('tcp', true);
  const timer = setTimeout(() => finish(classifyStalled(seen)), timeoutMs);
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}
