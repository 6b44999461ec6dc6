// `npm run soak -- --attacks`: the memory check per attack. For each case of issue 11, a fresh ebb
// (and app), warmed up with well-behaved requests, then the attack for a bounded time; the proxy's
// RSS and open fds before, at the peak, and 10 s after the attack ended (every attacking socket
// closed). The issue asks: RSS back within 10 % and fds within a few of the baseline within 10 s,
// and RSS below the proxy's injected memory limit throughout. Reported, and the exit code says.
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { resolve } from 'node:path';
import { WebSocket } from 'undici';
import { rssBytes } from '../lib/procs.js';
import { DEFAULT_INJECT_CONFIG } from '../../src/inject/config.js';
import { CASES, type Case } from './hostile-cases.js';
import { startEbbFor } from './peers.js';
import { RecordingApp } from './recording-app.js';
import { Curve, mb } from './stack.js';

/** One case per number of the issue: the ones whose memory or fds an attacker can move. */
export const DEFAULT_ATTACKS = ['1', '2', '3', '4d', '5', '6', '7', '8', '9', '10', '11a'];
const SETTLE_MS = 10_000;
const FD_SLACK = 5;

export interface AttackOptions {
  bin: string; cases: string[]; seconds: number; out: string;
  /** Run the proxy with --inspect on loopback and, after the 10 s reading, force a full GC through the inspector and read RSS again. */
  gcProbe: boolean;
}

export interface AttackRow {
  id: string; title: string;
  rss: { before: number; peak: number; after: number };
  fds: { before: number; peak: number; after: number };
  /** Connections open to the app (the proxy's upstream pool), before and 10 s after. */
  appConns: { before: number; after: number };
  /** RSS 1 s after a forced full GC (--gc-probe), null without. */
  rssAfterGc: number | null;
  problems: string[];
}

/** The injected memory limit in bytes (DEFAULT_INJECT_CONFIG, e.g. 128Mi), or null if none. */
export function injectedLimitBytes(): { text: string; bytes: number } | null {
  const q = DEFAULT_INJECT_CONFIG.resources.memoryLimit;
  if (!q) return null;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) return null;
  const unit: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
  return { text: q, bytes: Number(m[1]) * (m[2] ? unit[m[2]]! : 1) };
}

async function warmUp(h1: number, h2: number): Promise<void> {
  const one = (): Promise<void> => new Promise((res) => {
    const r = request({ host: '127.0.0.1', port: h1, path: '/warm' }, (x) => { x.resume(); x.on('end', () => res()); });
    r.on('error', () => res());
    r.end();
  });
  for (let i = 0; i < 50; i++) await one();
  const s = h2connect(`http://127.0.0.1:${h2}`);
  s.on('error', () => {});
  await Promise.all(Array.from({ length: 50 }, () => new Promise<void>((res) => {
    const r = s.request({ ':path': '/warm' });
    r.on('error', () => res()); r.on('close', () => res()); r.resume();
  })));
  s.close();
}

/**
 * A full garbage collection in the proxy, through its inspector (started with --inspect on
 * loopback; the address is on its stderr): shows whether RSS that stayed up is garbage V8 has not
 * collected yet or memory still in use.
 */
async function forceGc(output: string): Promise<void> {
  const m = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output);
  if (!m) throw new Error('no inspector address in the proxy\'s output');
  const ws = new WebSocket(m[1]!);
  await new Promise<void>((resolveP, reject) => {
    const timer = setTimeout(() => { ws.close(); reject(new Error('inspector: no answer in 10 s')); }, 10_000);
    ws.addEventListener('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
    ws.addEventListener('message', () => { clearTimeout(timer); ws.close(); resolveP(); });
    ws.addEventListener('error', () => { clearTimeout(timer); reject(new Error('inspector connection failed')); });
  });
}

const sleep = (n: number): Promise<void> => new Promise((r) => setTimeout(r, n));

async function one(c: Case, o: AttackOptions): Promise<AttackRow> {
  const app = new RecordingApp();
  await app.listen();
  const t = await startEbbFor('ebb', o.bin, app, [], o.gcProbe ? ['--inspect=127.0.0.1:0'] : []);
  const sockets = new Set<Socket>();
  try {
    await warmUp(t.h1, t.h2);
    await sleep(2000);
    const curve = new Curve(t.pid, 200);
    const base = curve.sample()!;
    const appBefore = app.openConnections();
    const deadline = Date.now() + o.seconds * 1000;
    if (c.attack) await c.attack(t, deadline, sockets);
    else await Promise.all(Array.from({ length: 4 }, async () => { while (Date.now() < deadline) await c.run(t).catch(() => {}); }));
    for (const s of sockets) s.destroy();
    const endedAt = Date.now();
    await sleep(Math.max(0, SETTLE_MS - (Date.now() - endedAt)));
    const after = curve.sample()!;
    const appAfter = app.openConnections();
    curve.stop();
    let rssAfterGc: number | null = null;
    if (o.gcProbe) {
      await forceGc(t.proc.output());
      await sleep(1000);
      rssAfterGc = rssBytes(t.pid);
    }
    const peakRss = Math.max(...curve.samples.map((s) => s.rss));
    const peakFds = Math.max(...curve.samples.map((s) => s.fds));
    const problems: string[] = [];
    if (after.rss > base.rss * 1.1) problems.push(`RSS ${mb(after.rss)} 10 s after, more than 10 % over ${mb(base.rss)}`);
    // Idle connections the proxy keeps to the app (its keep-alive pool) are not a leak: counted apart.
    const poolGrowth = Math.max(0, appAfter - appBefore);
    if (after.fds - poolGrowth > base.fds + FD_SLACK) problems.push(`${after.fds} fds 10 s after (${poolGrowth} more app connections), baseline ${base.fds}`);
    const limit = injectedLimitBytes();
    if (limit && peakRss >= limit.bytes) problems.push(`peak RSS ${mb(peakRss)} reached the injected limit ${limit.text}`);
    if (t.proc.child.exitCode !== null || t.proc.child.signalCode !== null) problems.push(`the proxy died: ${t.proc.output().slice(-200)}`);
    return { id: c.id, title: c.title, rss: { before: base.rss, peak: peakRss, after: after.rss }, fds: { before: base.fds, peak: peakFds, after: after.fds }, appConns: { before: appBefore, after: appAfter }, rssAfterGc, problems };
  } finally {
    for (const s of sockets) s.destroy();
    await t.stop();
    app.close();
  }
}

export async function attacks(o: AttackOptions): Promise<number> {
  const ids = o.cases.length ? o.cases : DEFAULT_ATTACKS;
  const limit = injectedLimitBytes();
  console.log(`memory per attack — ${new Date().toISOString()}, node ${process.version}; ebb ${o.bin}`);
  console.log(`each: fresh proxy, 100 warm-up requests, baseline, ${o.seconds} s of attack, every attacking socket closed, ${SETTLE_MS / 1000} s later measured again; injected memory limit ${limit?.text ?? 'none'}`);
  const rows: AttackRow[] = [];
  for (const id of ids) {
    const c = CASES.find((x) => x.id === id)!;
    process.stdout.write(`  ${id} ${c.title} … `);
    try {
      const r = await one(c, o);
      rows.push(r);
      console.log(r.problems.length ? `FAIL: ${r.problems.join('; ')}` : 'ok');
    } catch (e) {
      console.log(`harness error: ${(e as Error).message}`);
      rows.push({ id, title: c.title, rss: { before: 0, peak: 0, after: 0 }, fds: { before: 0, peak: 0, after: 0 }, appConns: { before: 0, after: 0 }, rssAfterGc: null, problems: [`harness error: ${(e as Error).message}`] });
    }
  }
  const gc = o.gcProbe ? ' RSS after forced GC |' : '';
  const md = [
    `| attack | RSS before | RSS peak | RSS 10 s after |${gc} fds before | fds peak | fds 10 s after | app connections before → after | verdict |`,
    `|---|---|---|---|${o.gcProbe ? '---|' : ''}---|---|---|---|---|`,
    ...rows.map((r) => `| **${r.id}** ${r.title.replace(/\|/g, '\\|')} | ${mb(r.rss.before)} | ${mb(r.rss.peak)} | ${mb(r.rss.after)} |${o.gcProbe ? ` ${r.rssAfterGc === null ? '?' : mb(r.rssAfterGc)} |` : ''} ${r.fds.before} | ${r.fds.peak} | ${r.fds.after} | ${r.appConns.before} → ${r.appConns.after} | ${r.problems.length ? r.problems.join('; ') : 'ok'} |`),
  ].join('\n');
  console.log('');
  console.log(md);
  const maxPeak = Math.max(...rows.map((r) => r.rss.peak));
  console.log(`\nhighest peak RSS: ${mb(maxPeak)}${limit ? ` (injected limit ${limit.text} = ${mb(limit.bytes)})` : ''}`);
  writeFileSync(resolve(o.out), JSON.stringify({ at: new Date().toISOString(), bin: o.bin, seconds: o.seconds, limit, rows }, null, 2) + '\n');
  console.log(`wrote ${resolve(o.out)}`);
  return rows.some((r) => r.problems.length) ? 1 : 0;
}
