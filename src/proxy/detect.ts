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

/** 'more' when the bytes so far could still be either. */
export function classify(buf: Buffer): Detected | 'more' {
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, n, 0, n) === 0) return buf.length >= H2_PREFACE.length ? 'http2' : 'more';
  // An HTTP/1 request line starts with a method token (uppercase letters here) and a space.
  for (let i = 0; i < buf.length && i <= MAX_METHOD; i++) {
    const c = buf[i]!;
    if (c === 0x20) return i > 0 ? 'http1' : 'tcp';
    if (c < 0x41 || c > 0x5a) return c === 0x2d || c === 0x5f ? (i > 0 ? 'more' : 'tcp') : 'tcp';
  }
  return buf.length > MAX_METHOD ? 'tcp' : 'more';
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
  const timer = setTimeout(() => finish('tcp'), timeoutMs);
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}
