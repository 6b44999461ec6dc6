// The numbered cases of issue 11 as exact bytes, each run against one proxy (ebb, HAProxy or nginx)
// in front of a RecordingApp, summed up as one table cell: what the client got (statuses, close,
// timing) and, where it matters, what reached the app. Raw HTTP/2 frames come from the tests' frame
// writer (test/proxy/h2-frames.ts). Used by the side-by-side comparison
// (`npm run soak -- --compare-peers`) and by the memory check per attack (`--attacks`).
import { readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import type { Socket } from 'node:net';
import * as h2 from '../../test/proxy/h2-frames.js';
import type { RecordingApp } from './recording-app.js';
import { closeText, exchange, fmtBytes, h1Responses, h1Summary, h2Summary, h2Text, ms, type Step } from './wire.js';

/** A change of RSS in kB as whole MB with its sign: +3, -2, +0. */
function signedMb(kb: number): string {
  const n = Math.round(kb / 1024);
  return n < 0 ? `${n}` : `+${n}`;
}

export interface Under {
  name: string;
  /** The proxy's HTTP/1 listener (to the app's HTTP/1 server) and its h2c one. */
  h1: number;
  h2: number;
  app: RecordingApp;
  /** The proxy's pid, for RSS and fds. */
  pid: number;
}

export interface Case {
  id: string;
  title: string;
  /** The exact bytes, as a short JSON-ish description (repetitions written `× N`). */
  bytes: string;
  run(u: Under): Promise<string>;
  /** Flood for the memory check: repeat the case (or its attack part) until deadline; bounded. */
  attack?(u: Under, deadline: number, sockets: Set<Socket>): Promise<void>;
}

const H = 'Host: app\r\n';
const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\n${H}${extra}\r\n`;
const esc = (s: string): string => JSON.stringify(s);
const sleep = (n: number): Promise<void> => new Promise((r) => setTimeout(r, n));

/** What reached the app for this tag, in a few words. */
function appSaw(u: Under, tag: string, detail: (s: ReturnType<RecordingApp['tagged']>[number]) => string = (s) => `${s.method} ${s.target}`): string {
  const seen = u.app.tagged(tag);
  const refused = u.app.appParseErrors ? `; the app's own parser refused ${u.app.appParseErrors} (the bytes reached it as they were)` : '';
  if (seen.length === 0) return `app saw nothing${refused}`;
  const list = seen.slice(0, 3).map(detail).join('; ');
  return `app saw ${seen.length}: ${list}${seen.length > 3 ? '; …' : ''}${refused}`;
}

/** One h1 exchange summarised: statuses, close and time. */
async function h1Case(u: Under, steps: Step[], waitMs: number, tag: string, detail?: Parameters<typeof appSaw>[2], done?: (d: Buffer) => boolean): Promise<string> {
  u.app.reset();
  const e = await exchange(u.h1, steps, waitMs, done);
  await sleep(50);
  return `${h1Summary(e.data)} (first byte ${ms(e.firstByteMs)}), ${closeText(e, waitMs)}; ${appSaw(u, tag, detail)}`;
}

/** Repeats one run with `parallel` loops until the deadline. */
async function repeat(deadline: number, parallel: number, once: () => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (Date.now() < deadline) await once().catch(() => {});
  }));
}

/** A GET on the h2 route, END_STREAM, :authority app. */
const req = (path: string): h2.Field[] => h2.requestFields({ path, authority: 'app' });

function h2Start(settings: Array<[number, number]> = []): Buffer[] {
  return [h2.PREFACE, h2.settings(settings), h2.settingsAck()];
}

/** A well-behaved h2 client's requests while something else happens: statuses and errors. */
async function victim(port: number, n: number, path: string, timeoutMs: number): Promise<string> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  const results = await Promise.all(Array.from({ length: n }, () => new Promise<string>((resolve) => {
    const req = session.request({ ':path': path });
    const t = setTimeout(() => { req.close(); resolve('hung'); }, timeoutMs);
    let status = '';
    req.on('response', (h) => { status = String(h[':status']); });
    req.on('error', (e: Error) => { clearTimeout(t); resolve(e.message.includes('RST_STREAM') ? 'reset' : 'error'); });
    req.on('end', () => { clearTimeout(t); resolve(status || 'no status'); });
    req.resume();
  })));
  session.destroy();
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, c]) => `${c}× ${r}`).join(', ');
}

const SMUGGLE = `\r\nPOST /c4d HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /c4d-smuggled HTTP/1.1\r\n${H}\r\n`;
const UPGRADE = `GET /c5 HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n${get('/c5-next')}`;

export const CASES: Case[] = [
  {
    id: '1', title: 'h2: request, then a plain FIN (curl --http2-prior-knowledge)',
    bytes: 'preface, SETTINGS, SETTINGS ACK, HEADERS(1, GET /c1/slow?ms=1000, END_STREAM), then FIN at once (no GOAWAY)',
    async run(u) {
      u.app.reset();
      const steps: Step[] = [Buffer.concat([...h2Start(), h2.headers(1, req('/c1/slow?ms=1000'), { endStream: true })]), 'shut-wr'];
      const e = await exchange(u.h2, steps, 5000);
      return `${h2Text(h2Summary(e.data))}, ${closeText(e, 5000)}`;
    },
    async attack(u, deadline, sockets) {
      await repeat(deadline, 4, () => exchange(u.h2, [Buffer.concat([...h2Start(), h2.headers(1, req('/c1'), { endStream: true })]), { waitMs: 50 }, 'shut-wr'], 200, undefined, (s) => sockets.add(s)));
    },
  },
  {
    id: '2', title: 'h2 rapid reset: another client\'s requests in flight',
    bytes: 'preface, SETTINGS, SETTINGS ACK, then (HEADERS(n, GET /c2/slow?ms=2000, END_STREAM), RST_STREAM(n, CANCEL)) × 1000 in one write; meanwhile a node:http2 client has 5 × GET /c2v/slow?ms=1500 in flight',
    async run(u) {
      u.app.reset();
      const v = victim(u.h2, 5, '/c2v/slow?ms=1500', 10_000);
      await sleep(200);
      const e = await exchange(u.h2, [Buffer.concat([...h2Start(), ...rapidResets(1000, '/c2/slow?ms=2000')])], 3000);
      const victims = await v;
      return `attacker: ${h2Text(h2Summary(e.data))}, ${closeText(e, 3000)}; victim: ${victims}; app saw ${u.app.tagged('/c2/').length} of 1000 reset streams`;
    },
    async attack(u, deadline, sockets) {
      await repeat(deadline, 2, () => exchange(u.h2, [Buffer.concat([...h2Start(), ...rapidResets(500, '/c2/slow?ms=2000')])], 500, undefined, (s) => sockets.add(s)));
    },
  },
  {
    id: '3', title: 'h2 zero window: streams that never take their response',
    bytes: 'preface, SETTINGS(INITIAL_WINDOW_SIZE=0), SETTINGS ACK, HEADERS(n, GET /c3/big?kb=1024, END_STREAM) × 300; meanwhile a node:http2 client asks GET /c3v',
    async run(u) {
      u.app.reset();
      const streams = Array.from({ length: 300 }, (_, i) => h2.headers(1 + 2 * i, req('/c3/big?kb=1024'), { endStream: true }));
      const rss0 = rssKb(u.pid);
      const attacker = exchange(u.h2, [Buffer.concat([...h2Start([[h2.SETTING.INITIAL_WINDOW_SIZE, 0]]), ...streams]), { waitMs: 2500 }], 3000);
      await sleep(1000);
      const v = await victim(u.h2, 1, '/c3v', 8000);
      const rss1 = rssKb(u.pid);
      const e = await attacker;
      const s = h2Summary(e.data);
      return `advertised MAX_CONCURRENT_STREAMS ${s.maxConcurrentStreams ?? 'none'}; ${h2Text(s)}; app got ${u.app.tagged('/c3/').length} of 300; RSS ${rss0 !== null && rss1 !== null ? signedMb(rss1 - rss0) : '+?'} MB; victim: ${v}`;
    },
    async attack(u, deadline, sockets) {
      const streams = Array.from({ length: 300 }, (_, i) => h2.headers(1 + 2 * i, req('/c3/big?kb=1024'), { endStream: true }));
      // Twenty at once: what one connection may hold is bounded per connection; twenty multiply it,
      // and only the proxy-wide budget (--max-buffered-bytes) bounds the sum.
      await repeat(deadline, 20, () => exchange(u.h2, [Buffer.concat([...h2Start([[h2.SETTING.INITIAL_WINDOW_SIZE, 0]]), ...streams]), { waitMs: 3000 }], 100, undefined, (s) => sockets.add(s)));
    },
  },
  {
    id: '4a', title: 'an empty line before the request line',
    bytes: esc('\r\n' + get('/c4a')),
    run: (u) => h1Case(u, ['\r\n' + get('/c4a')], 3000, '/c4a', undefined, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '4b', title: 'lowercase method',
    bytes: esc(get('/c4b').replace('GET', 'get')),
    run: (u) => h1Case(u, [get('/c4b').replace('GET', 'get')], 3000, '/c4b', undefined, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '4c', title: 'a tab between method and target',
    bytes: esc(get('/c4c').replace('GET ', 'GET\t')),
    run: (u) => h1Case(u, [get('/c4c').replace('GET ', 'GET\t')], 3000, '/c4c', undefined, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '4d', title: 'CL.TE smuggling behind an empty line',
    bytes: esc(SMUGGLE),
    run: (u) => h1Case(u, [SMUGGLE], 3000, '/c4d'),
  },
  {
    id: '5', title: 'upgrade the app refuses (400), then a pipelined request',
    bytes: esc(UPGRADE),
    run: (u) => h1Case(u, [UPGRADE], 3000, '/c5', undefined, (d) => h1Responses(d).responses.length >= 2),
  },
  {
    id: '6', title: 'slowloris: one header byte every 5 s',
    bytes: `${esc(`GET /c6 HTTP/1.1\r\n${H}X-Slow: `)} then ${esc('a')} every 5 s (for at most 75 s)`,
    async run(u) {
      const steps: Step[] = [`GET /c6 HTTP/1.1\r\n${H}X-Slow: `];
      for (let i = 0; i < 15; i++) steps.push({ waitMs: 5000 }, 'a');
      const t0 = performance.now();
      const e = await exchange(u.h1, steps, 5000);
      const total = performance.now() - t0;
      return e.closed ? `${h1Summary(e.data)}, closed after ${ms(total)}` : `still open after ${ms(total)}`;
    },
    async attack(u, deadline, sockets) {
      // 200 connections, each dribbling, until the deadline.
      await Promise.all(Array.from({ length: 200 }, async () => {
        const steps: Step[] = [`GET /c6 HTTP/1.1\r\n${H}X-Slow: `];
        const left = Math.max(0, deadline - Date.now());
        for (let t = 0; t < left; t += 2000) steps.push({ waitMs: Math.min(2000, left - t) }, 'a');
        await exchange(u.h1, steps, 10, undefined, (s) => sockets.add(s)).catch(() => {});
      }));
    },
  },
  {
    id: '7', title: '500 pipelined requests on one connection',
    bytes: `${esc(get('/c7/slow?ms=20'))} × 500 in one write`,
    async run(u) {
      u.app.reset();
      const e = await exchange(u.h1, [get('/c7/slow?ms=20').repeat(500)], 30_000, (d) => h1Responses(d).responses.length >= 500);
      await sleep(50);
      const conns = new Set(u.app.tagged('/c7/').map((s) => s.conn)).size;
      return `${h1Summary(e.data)} (first byte ${ms(e.firstByteMs)}); app connections used: ${conns}`;
    },
    async attack(u, deadline, sockets) {
      await repeat(deadline, 4, () => exchange(u.h1, [get('/c7/slow?ms=20').repeat(500)], 30_000, (d) => h1Responses(d).responses.length >= 500, (s) => sockets.add(s)));
    },
  },
  {
    id: '8', title: 'a malformed request pipelined behind a 16 MiB response',
    bytes: esc(get('/c8/big?kb=16384') + `GET /c8b HTTP/1.1\r\n${H}Bad Header\r\n\r\n`),
    async run(u) {
      u.app.reset();
      const e = await exchange(u.h1, [get('/c8/big?kb=16384') + `GET /c8b HTTP/1.1\r\n${H}Bad Header\r\n\r\n`], 10_000);
      return `${h1Summary(e.data)}, ${fmtBytes(e.data.length)} in all, ${closeText(e, 10_000)}`;
    },
  },
  {
    id: '9', title: '1000 headers, then Content-Length',
    bytes: `${esc(`POST /c9 HTTP/1.1\r\n${H}`)} + ${esc('X-H-<i>: v\r\n')} × 1000 + ${esc('Content-Length: 5\r\n\r\nhello')}`,
    run: (u) => h1Case(u, [`POST /c9 HTTP/1.1\r\n${H}${Array.from({ length: 1000 }, (_, i) => `X-H-${i}: v\r\n`).join('')}Content-Length: 5\r\n\r\nhello`], 3000, '/c9', (s) => `${s.method} ${s.target}, ${s.headerCount} headers, body ${s.bodyBytes} B`, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '10', title: 'a request, then a half-close (shutdown(SHUT_WR))',
    bytes: `${esc(get('/c10'))} then FIN`,
    run: (u) => h1Case(u, [get('/c10'), 'shut-wr'], 3000, '/c10'),
    async attack(u, deadline, sockets) {
      await repeat(deadline, 8, () => exchange(u.h1, [get('/c10'), 'shut-wr'], 1000, undefined, (s) => sockets.add(s)));
    },
  },
  {
    id: '11a', title: '`Connection: …, host`',
    bytes: esc(get('/c11a', 'Connection: keep-alive, host\r\n')),
    run: (u) => h1Case(u, [get('/c11a', 'Connection: keep-alive, host\r\n')], 3000, '/c11a', (s) => `Host ${s.host}`, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '11b', title: 'absolute-form target with another Host',
    bytes: esc(`GET http://other.example/c11b HTTP/1.1\r\n${H}\r\n`),
    run: (u) => h1Case(u, [`GET http://other.example/c11b HTTP/1.1\r\n${H}\r\n`], 3000, '/c11b', (s) => `${s.target}, Host ${s.host}`, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '11c', title: '`#fragment` in the target',
    bytes: esc(get('/c11c#frag')),
    run: (u) => h1Case(u, [get('/c11c#frag')], 3000, '/c11c', (s) => s.target, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '11d', title: 'h2 `:authority` ≠ `host`',
    bytes: 'preface, SETTINGS, SETTINGS ACK, HEADERS(1, :method GET, :scheme http, :authority app, :path /c11d, host other.example, END_STREAM)',
    async run(u) {
      u.app.reset();
      const e = await exchange(u.h2, [Buffer.concat([...h2Start(), h2.headers(1, h2.requestFields({ path: '/c11d', authority: 'app', extra: [['host', 'other.example']] }), { endStream: true })])], 3000,
        (d) => h2Summary(d).statuses.size > 0 || h2Summary(d).rst.size > 0 || h2Summary(d).goaway !== null);
      await sleep(50);
      return `${h2Text(h2Summary(e.data))}; ${appSaw(u, '/c11d', (s) => `:authority ${s.host}`)}`;
    },
  },
  {
    id: '11e', title: '`OPTIONS *`',
    bytes: esc(`OPTIONS * HTTP/1.1\r\n${H}\r\n`),
    run: (u) => h1Case(u, [`OPTIONS * HTTP/1.1\r\n${H}\r\n`], 3000, '*', undefined, (d) => h1Responses(d).responses.length >= 1),
  },
  {
    id: '11f', title: 'two Host headers',
    bytes: esc(get('/c11f', 'Host: other.example\r\n')),
    run: (u) => h1Case(u, [get('/c11f', 'Host: other.example\r\n')], 3000, '/c11f', (s) => `Host ${s.host}`, (d) => h1Responses(d).responses.length >= 1),
  },
];

function rapidResets(n: number, path: string): Buffer[] {
  const out: Buffer[] = [];
  const block = h2.headerBlock(h2.requestFields({ path, authority: 'app' }));
  for (let i = 0; i < n; i++) out.push(h2.headers(1 + 2 * i, block, { endStream: true }), h2.rstStream(1 + 2 * i, h2.ERROR.CANCEL));
  return out;
}

function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch { return null; }
}
