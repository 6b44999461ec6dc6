// `npm run soak`: a bounded load at a fixed rate against a real `ebb proxy` in front of a real app,
// well-behaved clients mixed with careless ones, then a TERM. Reports the proxy's RSS and fd curves,
// the well-behaved requests lost (must be 0) and whether the drain ended idle. See docs/soak.md.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { chart } from './chart.js';
import { CARELESS_KINDS, CarelessClients, GOOD_KINDS, GOOD_SHARE, GoodClients, type CarelessKind, type GoodKind } from './clients.js';
import { Curve, mb, startApp, startEbb, type Sample } from './stack.js';

export interface SoakOptions {
  minutes: number;
  /** Well-behaved requests per second, all kinds together. */
  rate: number;
  /** Careless clients started per second, kinds in turn. */
  carelessRate: number;
  waitBeforeExit: number;
  drainTimeout: number;
  out: string;
  bin: string;
  /** Print progress every this many seconds (0: never). */
  progressS: number;
  /** The careless kinds to run (all when empty), to find which one moves a curve. */
  careless: CarelessKind[];
}

interface GoodTally { sent: number; ok: number; lost: number; reasons: Record<string, number> }
interface CarelessTally { launched: number; started: number; skipped: number; answered: number; serverClosed: number; errors: number }

const IN_FLIGHT_CAP = 500;
const CARELESS_CAP = 100;

export interface SoakResult {
  ok: boolean;
  lost: number;
  sent: number;
  good: Record<GoodKind, GoodTally>;
  careless: Record<CarelessKind, CarelessTally>;
  notSent: number;
  samples: Sample[];
  termAtMs: number | null;
  summary: Record<string, unknown> | null;
  drainEndedIdle: boolean;
  exit: { code: number | null; signal: string | null; killed: boolean };
  fds: { start: number; endBeforeTerm: number; max: number };
  rss: { start: number; endBeforeTerm: number; max: number };
  failures: string[];
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const durationMs = Math.round(o.minutes * 60_000);
  console.log(`ebb soak — ${new Date().toISOString()}, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${o.minutes} min at ${o.rate} well-behaved req/s (${GOOD_KINDS.map((k) => `${k} ${Math.round(GOOD_SHARE[k] * 100)}%`).join(', ')}) + ${o.carelessRate} careless clients/s (${(o.careless.length ? o.careless : CARELESS_KINDS).join(', ')}), then TERM`);
  console.log(`proxy: ${o.bin} --wait-before-exit ${o.waitBeforeExit} --drain-timeout ${o.drainTimeout}`);

  const app = await startApp();
  const ebb = await startEbb(app.ports, { bin: o.bin, waitBeforeExit: o.waitBeforeExit, drainTimeout: o.drainTimeout });
  const curve = new Curve(ebb.pid, 1000);
  const good = new GoodClients(ebb.ports);
  const careless = new CarelessClients(ebb.ports, { slowlorisMax: 5, slowlorisLifeMs: Math.max(60_000, (o.drainTimeout + o.waitBeforeExit + 10) * 1000) });
  const goodT = Object.fromEntries(GOOD_KINDS.map((k) => [k, { sent: 0, ok: 0, lost: 0, reasons: {} }])) as unknown as Record<GoodKind, GoodTally>;
  const carelessT = Object.fromEntries(CARELESS_KINDS.map((k) => [k, { launched: 0, started: 0, skipped: 0, answered: 0, serverClosed: 0, errors: 0 }])) as unknown as Record<CarelessKind, CarelessTally>;
  const goodInFlight = new Set<Promise<void>>();
  let carelessInFlight = 0;
  let notSent = 0;
  let launched = 0;
  let carelessLaunched = 0;
  // Deterministic weighted round-robin: each kind's credit grows by its share; the richest goes next.
  const credit = Object.fromEntries(GOOD_KINDS.map((k) => [k, 0])) as Record<GoodKind, number>;
  const nextGood = (): GoodKind => {
    for (const k of GOOD_KINDS) credit[k] += GOOD_SHARE[k];
    const k = GOOD_KINDS.reduce((a, b) => (credit[b] > credit[a] ? b : a));
    credit[k] -= 1;
    return k;
  };

  const kinds = o.careless.length ? o.careless : CARELESS_KINDS;
  const t0 = Date.now();
  let loadUntil = Infinity;
  const tick = (): void => {
    const now = Math.min(Date.now(), loadUntil) - t0;
    const wantGood = Math.floor((now / 1000) * o.rate);
    while (launched < wantGood) {
      launched++;
      if (goodInFlight.size >= IN_FLIGHT_CAP) { notSent++; continue; }
      const kind = nextGood();
      const t = goodT[kind];
      t.sent++;
      const p: Promise<void> = good.fire(kind).then(
        () => { t.ok++; },
        (e: Error) => { t.lost++; const r = e.message.slice(0, 160); t.reasons[r] = (t.reasons[r] ?? 0) + 1; },
      ).finally(() => goodInFlight.delete(p));
      goodInFlight.add(p);
    }
    const wantCareless = Math.floor((now / 1000) * o.carelessRate);
    while (carelessLaunched < wantCareless) {
      const kind = kinds[carelessLaunched % kinds.length]!;
      carelessLaunched++;
      const t = carelessT[kind];
      if (carelessInFlight >= CARELESS_CAP) { t.skipped++; continue; }
      carelessInFlight++;
      t.launched++;
      careless.fire(kind).then(
        (r) => { if (!r) { t.skipped++; return; } t.started++; if (r.answered) t.answered++; if (r.serverClosed) t.serverClosed++; },
        () => { t.started++; t.errors++; },
      ).finally(() => { carelessInFlight--; });
    }
  };
  const loop = setInterval(tick, 50);
  const progress = o.progressS > 0 ? setInterval(() => {
    const s = curve.samples[curve.samples.length - 1];
    const sent = GOOD_KINDS.reduce((a, k) => a + goodT[k].sent, 0);
    const lost = GOOD_KINDS.reduce((a, k) => a + goodT[k].lost, 0);
    console.log(`  ${Math.round((Date.now() - t0) / 1000)} s: ${sent} sent, ${lost} lost, ${goodInFlight.size} in flight; proxy ${s ? `${mb(s.rss)}, ${s.fds} fds` : '?'}`);
  }, o.progressS * 1000) : null;

  const stopLoad = (): void => { clearInterval(loop); if (progress) clearInterval(progress); };
  const cleanup = (): void => { stopLoad(); curve.stop(); careless.destroyAll(); };
  process.once('exit', cleanup);

  await new Promise((r) => setTimeout(r, durationMs));
  const beforeTerm = curve.samples.slice();
  // TERM; the load goes on for half the wait (requests served while waiting), then stops, as
  // clients do once the endpoint is gone; what is in flight must finish.
  const termAtMs = Date.now() - t0;
  ebb.term();
  console.log(`TERM at ${Math.round(termAtMs / 1000)} s; load goes on for ${o.waitBeforeExit / 2} s (half the wait), then stops`);
  loadUntil = Date.now() + (o.waitBeforeExit * 1000) / 2;
  await new Promise((r) => setTimeout(r, (o.waitBeforeExit * 1000) / 2));
  tick();
  stopLoad();
  await Promise.all([...goodInFlight]);
  await good.close();
  const exit = await ebb.exit((o.waitBeforeExit + o.drainTimeout + 15) * 1000);
  cleanup();
  await app.stop();

  const summary = (ebb.summary() as Record<string, unknown> | undefined) ?? null;
  const sent = GOOD_KINDS.reduce((a, k) => a + goodT[k].sent, 0);
  const lost = GOOD_KINDS.reduce((a, k) => a + goodT[k].lost, 0);
  const drainEndedIdle = summary?.drainEndedBy === 'idle';
  const pick = (ss: Sample[], f: (s: Sample) => number): { start: number; endBeforeTerm: number; max: number } => ({
    // Start: the first sample after 10 % of the run (the pools and JIT warmed up).
    start: f(ss.find((s) => s.t >= durationMs * 0.1) ?? ss[0] ?? { t: 0, rss: 0, fds: 0 }),
    endBeforeTerm: f(ss[ss.length - 1] ?? { t: 0, rss: 0, fds: 0 }),
    max: Math.max(0, ...curve.samples.map(f)),
  });
  const failures: string[] = [];
  if (lost > 0) failures.push(`${lost} well-behaved request(s) lost`);
  if (!summary) failures.push('no "shutdown complete" line from the proxy');
  else if (!drainEndedIdle) failures.push(`the drain ended by ${String(summary.drainEndedBy)}, not idle (in flight when draining began: ${JSON.stringify(summary.inFlightAtDraining)})`);
  if (exit.killed) failures.push('the proxy did not exit by itself; killed');
  else if (exit.code !== 0) failures.push(`the proxy exited with ${exit.code ?? exit.signal}`);
  if (notSent > 0) failures.push(`${notSent} well-behaved request(s) not sent: ${IN_FLIGHT_CAP} already in flight (the proxy stalls)`);
  const result: SoakResult = {
    ok: failures.length === 0, lost, sent, good: goodT, careless: carelessT, notSent,
    samples: curve.samples, termAtMs, summary, drainEndedIdle, exit,
    fds: pick(beforeTerm, (s) => s.fds), rss: pick(beforeTerm, (s) => s.rss), failures,
  };
  report(result, o);
  return result;
}

function report(r: SoakResult, o: SoakOptions): void {
  console.log('');
  console.log(chart(`proxy RSS (max per column; TERM at ${Math.round((r.termAtMs ?? 0) / 1000)} s)`, r.samples.map((s) => ({ t: s.t, v: s.rss })), mb));
  console.log('');
  console.log(chart('proxy open fds', r.samples.map((s) => ({ t: s.t, v: s.fds })), (v) => String(v)));
  console.log('');
  console.log(`RSS: ${mb(r.rss.start)} at 10 % of the run, ${mb(r.rss.endBeforeTerm)} at TERM, max ${mb(r.rss.max)}`);
  console.log(`fds: ${r.fds.start} at 10 % of the run, ${r.fds.endBeforeTerm} at TERM, max ${r.fds.max}`);
  console.log('');
  console.log('well-behaved    sent      ok    lost');
  for (const k of GOOD_KINDS) {
    const t = r.good[k];
    console.log(`${k.padEnd(12)} ${String(t.sent).padStart(7)} ${String(t.ok).padStart(7)} ${String(t.lost).padStart(7)}`);
    for (const [why, n] of Object.entries(t.reasons)) console.log(`    ${n} × ${why}`);
  }
  console.log('careless       started answered  closed-by-proxy  skipped  errors');
  for (const k of CARELESS_KINDS) {
    const t = r.careless[k];
    console.log(`${k.padEnd(14)} ${String(t.started).padStart(7)} ${String(t.answered).padStart(8)} ${String(t.serverClosed).padStart(16)} ${String(t.skipped).padStart(8)} ${String(t.errors).padStart(7)}`);
  }
  console.log('');
  const s = r.summary;
  console.log(s
    ? `drain: ended by ${String(s.drainEndedBy)} after ${String(s.drainingMs)} ms draining (${String(s.totalMs)} ms since TERM), forced closes ${String(s.forcedCloses)}, in flight when draining began ${JSON.stringify(s.inFlightAtDraining)}`
    : 'drain: no "shutdown complete" line');
  console.log(`proxy exit: ${r.exit.killed ? 'killed (did not exit in time)' : String(r.exit.code ?? r.exit.signal)}`);
  console.log(`lost: ${r.lost} of ${r.sent} well-behaved requests; drain ended idle: ${r.drainEndedIdle ? 'yes' : 'no'}`);
  const out = resolve(o.out);
  writeFileSync(out, JSON.stringify({ options: o, ...r }, null, 2) + '\n');
  console.log(`wrote ${out}`);
  console.log(r.ok ? 'soak: OK' : `soak: FAILED — ${r.failures.join('; ')}`);
}
