import http from 'node:http';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { startEbb } from '../helpers.js';

/**
 * Shared test harness: a real `ebb proxy` child process (ports learned from its "listening" line)
 * and an in-process upstream app. Everything binds port 0.
 */
export interface LogLine { msg?: string; level?: number; [k: string]: unknown }

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly admin: number;
  /** First inbound listener's port (-1 without one). */
  readonly port: number;
  readonly inbound: Array<{ port: number; appPort: number }>;
  readonly logs: LogLine[];
  readonly stderr: () => string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(pred: (l: LogLine) => boolean, what?: string): Promise<LogLine>;
  signal(sig: NodeJS.Signals): void;
  /** Kills the process if still running (for after()). */
  stop(): Promise<void>;
}

/** Starts `ebb proxy ARGS…` on port 0 (inbound and admin) and waits for its listening line. */
export async function startProxy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProxyProcess> {
  const child = startEbb(['proxy', '--inbound-port', '0', '--admin-port', '0', ...args], env);
  const logs: LogLine[] = [];
  let stderr = '';
  let buf = '';
  const waiters: Array<{ pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let parsed: LogLine;
      try { parsed = JSON.parse(line) as LogLine; } catch { continue; }
      logs.push(parsed);
      for (const w of [...waiters]) if (w.pred(parsed)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(parsed); }
    }
  });
  child.stdout!.resume();
  const waitForLog = (pred: (l: LogLine) => boolean, what = 'a log line'): Promise<LogLine> => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      waiters.push(w);
      void exited.then(({ code, signal }) => {
        if (waiters.includes(w)) reject(new Error(`ebb proxy exited (${code ?? signal}) before ${what}; stderr:\n${stderr}`));
      });
    });
  };
  const listening = await waitForLog((l) => l.msg === 'listening', 'the listening line');
  const inbound = listening.inbound as Array<{ port: number; appPort: number }>;
  return {
    child, logs, exited, waitForLog,
    admin: listening.admin as number,
    port: inbound[0]?.port ?? -1, // -1: started with `--inbound none`
    inbound,
    stderr: () => stderr,
    signal: (sig) => { child.kill(sig); },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface App {
  readonly port: number;
  readonly server: http.Server;
  close(): Promise<void>;
}

/** An upstream HTTP/1 app on 127.0.0.1:0. */
export async function startApp(handler: http.RequestListener, setup?: (s: http.Server) => void): Promise<App> {
  const server = http.createServer(handler);
  setup?.(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A raw TCP app on 127.0.0.1:0. */
export async function startTcpApp(onConn: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); onConn(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** A port nothing listens on (bound then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** One HTTP/1 request; resolves with the whole response. */
export function request(port: number, opts: http.RequestOptions & { body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Fetches admin JSON state. */
export async function state(admin: number): Promise<Record<string, unknown>> {
  const r = await request(admin, { path: '/state' });
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}

/** Polls `check` every 50 ms until it returns true (bounded: gives up after `tries`). */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, tries = 400): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

/** A deferred: a promise with its resolve function, for holding responses open. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/** An upstream h2c app on 127.0.0.1:0. */
export async function startH2App(onStream: (stream: import('node:http2').ServerHttp2Stream, headers: import('node:http2').IncomingHttpHeaders) => void): Promise<{ port: number; server: import('node:http2').Http2Server; close(): Promise<void> }> {
  const http2 = await import('node:http2');
  const server = http2.createServer();
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => { sessions.add(s); s.on('close', () => sessions.delete(s)); });
  server.on('stream', onStream);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise<void>((resolve) => { for (const s of sessions) s.destroy(); server.close(() => resolve()); }),
  };
}

export interface RawResponse { status: number; headers: Record<string, string>; body: string }

/**
 * Splits the bytes read from a raw HTTP/1 connection into responses, in order: 1xx responses have
 * no body, others a Content-Length body (or, without one, the rest of the stream). A trailing
 * incomplete response is reported as an error, so a test never mistakes half a response for one.
 */
export function parseResponses(data: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = data;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`incomplete response head: ${JSON.stringify(rest)}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    rest = rest.slice(end + 4);
    let body = '';
    if (status >= 200) {
      const len = headers['content-length'];
      if (len === undefined) { body = rest; rest = ''; } else {
        if (rest.length < Number(len)) throw new Error(`incomplete body (${rest.length} of ${len} bytes)`);
        body = rest.slice(0, Number(len));
        rest = rest.slice(Number(len));
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}

export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything read so far (latin1). */
  readonly received: () => string;
  /** Resolves with everything read once the server has closed the connection. */
  readonly closed: Promise<string>;
}

/** A raw TCP connection to 127.0.0.1:port, for writing HTTP/1 by hand (pipelining, Expect). */
export async function rawConnect(port: number): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let data = '';
  socket.setEncoding('latin1').on('data', (d: string) => { data += d; });
  socket.on('error', () => {}); // a reset shows as a missing response, which the test reports
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(data)));
  return { socket, received: () => data, closed };
}
