import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import fc from 'fast-check';
import { startApp, startProxy, startTcpApp, rawConnect, parseResponses } from './harness.js';

// The fast HTTP/1 engine (--http1-engine fast) parses requests and responses from bytes itself.
// node:http is the oracle: generated request bytes go both to a node:http server directly and to
// the same server behind the proxy; generated response bytes come from a raw app, read both by
// node's http client directly and through the proxy. Whatever node:http accepts must arrive the
// same (method, target, body bytes; status, body bytes); whatever it refuses, the proxy refuses
// (4xx for a request, never reaching the app; 502 or a cut response for a response).
// Bounded: a fixed number of runs, and a time limit.

const RUNS = 60;
const TIME_LIMIT_MS = 40_000;

interface Seen { method: string; url: string; body: string }

function echoApp(seen: Seen[]): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString('latin1') };
      seen.push(s);
      const body = JSON.stringify(s);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

/** Sends bytes on a new connection; resolves with the first response (or null: closed without one). */
async function exchange(port: number, bytes: Buffer): Promise<{ status: number; body: string } | null> {
  const c = await rawConnect(port);
  c.socket.write(bytes);
  let closed = false;
  void c.closed.then(() => { closed = true; });
  for (let i = 0; i < 200; i++) {
    try {
      const r = parseResponses(c.received());
      if (r.length > 0 && r[0]!.status >= 200 && (r[0]!.headers['content-length'] !== undefined || closed)) { c.socket.destroy(); return { status: r[0]!.status, body: r[0]!.body }; }
    } catch { /* not complete yet */ }
    if (closed) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  c.socket.destroy();
  try {
    const r = parseResponses(c.received());
    return r.length > 0 ? { status: r[0]!.status, body: r[0]!.body } : null;
  } catch {
    return null;
  }
}

// ---- requests -------------------------------------------------------------------------------

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}$/);
const fieldValue = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[ -~]{0,20}$/).map((s) => s.trim()) },
  { weight: 1, arbitrary: fc.constantFrom('a\tb', 'x\0y', 'a\rb', 'a\nb', 'v\r\n folded', '\u00e9t\u00e9') },
);
const eol = fc.oneof({ weight: 12, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') });
const body = fc.stringMatching(/^[ -~]{0,40}$/);
const framing = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('cl' as const), body }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('chunked' as const), parts: fc.array(body, { maxLength: 3 }), ext: fc.boolean(), trailer: fc.boolean(), upper: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('cl+te' as const, 'dup-cl' as const, 'dup-cl-same' as const, 'te-not-last' as const, 'cl-plus' as const, 'bad-chunk' as const), body }) },
);
const requestCase = fc.record({
  leading: fc.constantFrom('', '', '', '\r\n', '\n', '\r\n\r\n'),
  method: fc.oneof({ weight: 10, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') }, { weight: 1, arbitrary: fc.constantFrom('get', 'G(T', 'GET\t') }),
  path: fc.stringMatching(/^[a-z0-9/._~?=&%-]{0,16}$/),
  sep: fc.oneof({ weight: 12, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: fc.constantFrom('\t', '  ') }),
  version: fc.oneof({ weight: 12, arbitrary: fc.constant('HTTP/1.1') }, { weight: 2, arbitrary: fc.constant('HTTP/1.0') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/2.0', 'HTTP/1.1 ', 'http/1.1') }),
  headers: fc.array(fc.tuple(token, fieldValue, eol), { maxLength: 5 }),
  host: fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  framing,
});
type RequestCase = typeof requestCase extends fc.Arbitrary<infer T> ? T : never;

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'content-length', 'host', 'expect']);

function requestBytes(c: RequestCase, id: number): Buffer {
  const target = `/c${id}${c.path.startsWith('/') ? '' : '/'}${c.path}`;
  let s = `${c.leading}${c.method}${c.sep}${target}${c.sep === '  ' ? ' ' : c.sep}${c.version}\r\n`;
  if (c.host) s += 'Host: t\r\n';
  for (const [n, v, e] of c.headers) if (!HOP.has(n.toLowerCase())) s += `${n}: ${v}${e}`;
  const f = c.framing;
  switch (f.kind) {
    case 'none': return Buffer.from(`${s}\r\n`, 'latin1');
    case 'cl': return Buffer.from(`${s}Content-Length: ${f.body.length}\r\n\r\n${f.body}`, 'latin1');
    case 'chunked': {
      let b = '';
      for (const p of f.parts) if (p.length > 0) b += `${f.upper ? p.length.toString(16).toUpperCase() : p.length.toString(16)}${f.ext ? ';x=1' : ''}\r\n${p}\r\n`;
      return Buffer.from(`${s}Transfer-Encoding: chunked\r\n\r\n${b}0\r\n${f.trailer ? 'X-Trailer: t\r\n' : ''}\r\n`, 'latin1');
    }
    case 'cl+te': return Buffer.from(`${s}Content-Length: ${f.body.length + 5}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${f.body}`, 'latin1');
    case 'dup-cl': return Buffer.from(`${s}Content-Length: ${f.body.length}\r\nContent-Length: ${f.body.length + 1}\r\n\r\n${f.body}`, 'latin1');
    case 'dup-cl-same': return Buffer.from(`${s}Content-Length: ${f.body.length}\r\nContent-Length: ${f.body.length}\r\n\r\n${f.body}`, 'latin1');
    case 'te-not-last': return Buffer.from(`${s}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 'latin1');
    case 'cl-plus': return Buffer.from(`${s}Content-Length: +${f.body.length}\r\n\r\n${f.body}`, 'latin1');
    case 'bad-chunk': return Buffer.from(`${s}Transfer-Encoding: chunked\r\n\r\nzz\r\n${f.body}\r\n0\r\n\r\n`, 'latin1');
  }
}

test('request framing: the fast engine forwards what node:http accepts, byte for byte, and refuses what it refuses', async () => {
  const direct: Seen[] = [];
  const behind: Seen[] = [];
  const oracle = await startApp(echoApp(direct));
  const app = await startApp(echoApp(behind));
  const p = await startProxy(['--app-port', String(app.port), '--http1-engine', 'fast']);
  after(async () => { await p.stop(); await oracle.close(); await app.close(); });
  let id = 0;
  await fc.assert(fc.asyncProperty(requestCase, async (c) => {
    const bytes = requestBytes(c, ++id);
    const before = behind.length;
    const want = await exchange(oracle.port, bytes);
    const got = await exchange(p.port, bytes);
    const shown = JSON.stringify(bytes.toString('latin1'));
    if (want && want.status === 200) {
      assert.ok(got, `node:http answered 200, the proxy nothing: ${shown}`);
      assert.equal(got.status, 200, `node:http accepted ${shown}; the proxy answered ${got.status} ${got.body}`);
      assert.deepEqual(JSON.parse(got.body), JSON.parse(want.body), `the app saw something else than node:http parsed from ${shown}`);
    } else {
      assert.ok(want, `node:http closed without an answer: ${shown}`);
      assert.ok(want.status >= 400 && want.status < 500, `node:http answered ${want.status}`);
      assert.ok(got && got.status === want.status, `node:http refused ${shown} with ${want.status}; the proxy answered ${got?.status}`);
      assert.equal(behind.length, before, `a refused request reached the app: ${shown}`);
    }
  }), { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: Number(process.env.FC_SEED ?? Date.now() % 1e9) });
});

// ---- responses ------------------------------------------------------------------------------

const responseCase = fc.record({
  head: fc.boolean(),
  informational: fc.constantFrom('', '', '', 'HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'),
  status: fc.constantFrom(200, 200, 201, 204, 304, 404, 500),
  headers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,20}$/).map((s) => s.trim())), { maxLength: 4 }),
  framing: fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('cl' as const), body }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('chunked' as const), parts: fc.array(body, { maxLength: 3 }), ext: fc.boolean(), trailer: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), body }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('cl+te' as const, 'dup-cl' as const, 'bad-chunk' as const, 'short' as const), body }) },
  ),
});
type ResponseCase = typeof responseCase extends fc.Arbitrary<infer T> ? T : never;

function responseBytes(c: ResponseCase): { bytes: string; end: boolean } {
  const bodyless = c.head || c.status === 204 || c.status === 304;
  let s = `${c.informational}HTTP/1.1 ${c.status} X\r\n`;
  for (const [n, v] of c.headers) if (!HOP.has(n.toLowerCase())) s += `${n}: ${v}\r\n`;
  const f = c.framing;
  switch (f.kind) {
    case 'cl': return { bytes: `${s}Content-Length: ${f.body.length}\r\n\r\n${bodyless ? '' : f.body}`, end: false };
    case 'chunked': {
      if (bodyless) return { bytes: `${s}Transfer-Encoding: chunked\r\n\r\n`, end: false };
      let b = '';
      for (const p of f.parts) if (p.length > 0) b += `${p.length.toString(16)}${f.ext ? ';e' : ''}\r\n${p}\r\n`;
      return { bytes: `${s}Transfer-Encoding: chunked\r\n\r\n${b}0\r\n${f.trailer ? 'X-Trailer: t\r\n' : ''}\r\n`, end: false };
    }
    case 'close': return { bytes: `${s}\r\n${bodyless ? '' : f.body}`, end: true };
    // A bodyless response (HEAD, 204, 304) has no body to get wrong: bytes after its head would be
    // the start of the next response on the connection, not part of this one.
    case 'cl+te': return { bytes: `${s}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${bodyless ? '' : '0\r\n\r\n'}`, end: true };
    case 'dup-cl': return { bytes: `${s}Content-Length: 1\r\nContent-Length: 2\r\n\r\n${bodyless ? '' : 'ab'}`, end: true };
    case 'bad-chunk': return { bytes: `${s}Transfer-Encoding: chunked\r\n\r\n${bodyless ? '' : `zz\r\n${f.body}\r\n0\r\n\r\n`}`, end: true };
    case 'short': return { bytes: `${s}Content-Length: ${f.body.length + 10}\r\n\r\n${bodyless ? '' : f.body}`, end: true };
  }
}

type Outcome = { status: number; body: string } | { error: string };

function get(port: number, method: string, path: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve(res.complete ? { status: res.statusCode!, body: Buffer.concat(chunks).toString('latin1') } : { error: 'aborted' }));
      res.on('error', (e) => resolve({ error: e.message }));
      res.on('aborted', () => resolve({ error: 'aborted' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

test('response framing: what node\'s http client reads from the app, it reads the same through the fast engine; what it refuses is a 502 or a cut response', async () => {
  const cases = new Map<string, ResponseCase>();
  const app = await startTcpApp((s: net.Socket) => {
    let buf = '';
    s.setEncoding('latin1').on('data', (d: string) => {
      buf += d;
      let end;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const c = cases.get(head.split(' ')[1] ?? '');
        if (!c) { s.destroy(); return; }
        const r = responseBytes(c);
        s.write(r.bytes, 'latin1');
        if (r.end) { s.end(); return; }
      }
    });
    s.on('error', () => {});
  });
  const p = await startProxy(['--app-port', String(app.port), '--http1-engine', 'fast']);
  after(async () => { await p.stop(); await app.close(); });
  let id = 0;
  await fc.assert(fc.asyncProperty(responseCase, async (c) => {
    const path = `/r${++id}`;
    cases.set(path, c);
    const method = c.head ? 'HEAD' : 'GET';
    const want = await get(app.port, method, path);
    const got = await get(p.port, method, path);
    const shown = JSON.stringify({ method, ...responseBytes(c) });
    if ('status' in want) {
      assert.deepEqual(got, want, `node's client read ${JSON.stringify(want)} from ${shown}; through the proxy ${JSON.stringify(got)}`);
    } else {
      assert.ok('error' in got || got.status === 502, `node's client refused ${shown} (${want.error}); through the proxy ${JSON.stringify(got)}`);
    }
  }), { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: Number(process.env.FC_SEED ?? Date.now() % 1e9) });
});
