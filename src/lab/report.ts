/**
 * Turning one lab run (request records + kubelet events) into numbers, and numbers into a terminal
 * table, a terminal timeline, a self-contained HTML page with SVG charts, and JSON.
 */
import type { KubeletEvent } from './kubelet.js';
import { LOST_OUTCOMES, OUTCOMES, type Outcome, type RequestRecord } from './load.js';

export interface ContainerPhases {
  preStop: { start: number; end: number | null; detail: string } | null;
  term: number | null;
  kill: number | null;
  exit: number | null;
}

/** The JSON shape of one scenario (the issue's contract): times in seconds from t0. */
export interface ScenarioResult {
  name: string;
  /**
   * `failed` is what was lost: requests that failed while the client still had an endpoint, or on
   * an established connection. `noEndpoint` (also byOutcome['no-endpoint']) is not in it: new
   * connections rejected because the Service had no serving endpoint left (the last replica's
   * scale to zero), which no pod could have answered.
   */
  requests: { total: number; ok: number; failed: number; noEndpoint: number; byOutcome: Record<Outcome, number> };
  podGoneSeconds: number | null;
  lastArrivalSeconds: number | null;
  firstFailureSeconds: number | null;
  phases: { lastFailureSeconds: number | null; containers: Record<string, ContainerPhases> };
  config: Record<string, unknown>;
  /** With --transparent: the old pod's app's own outbound calls, through the proxy's outbound listener. */
  appOutbound?: AppOutboundSummary;
  /**
   * The old proxy's own count just before t0 (its /metrics, ebb_requests_total by direction), next to
   * what the clients had had answered by the old pod by then and the port they connected to: with
   * real addressing that port is the app's, so a count above 0 means the rules handed them to the proxy.
   */
  proxyAtT0?: ProxyCountAtT0;
  /** With --last-replica: when the old pod stopped `serving` (s from t0; null: it served until gone), and why. */
  serving?: { endedSeconds: number | null; endedBy: string | null };
}

export interface ProxyCountAtT0 { inboundRequests: number; outboundRequests: number; clientRequestsAnsweredByOld: number; clientPort: number }

/** One outbound call of the app, times in ms from t0. */
export interface OutboundRecord { start: number; end: number; ok: boolean; status?: number; error?: string }

export interface AppOutboundSummary {
  /** Every call the old pod's app made, from its start to its exit. */
  total: number;
  ok: number;
  failed: number;
  /** Calls started at or after t0: while the pod was being deleted. */
  afterT0: { total: number; ok: number; failed: number; byError: Record<string, number> };
  /** When the last call that succeeded started, and when the first failed one did (s from t0). */
  lastOkSeconds: number | null;
  firstFailureSeconds: number | null;
  /** Calls the remote service received from the old pod's address (a cross-check of `ok`). */
  remoteReceived: number;
}

export function summarizeOutbound(calls: OutboundRecord[], remoteReceived: number): AppOutboundSummary {
  const after = calls.filter((c) => c.start >= 0);
  const byError: Record<string, number> = {};
  for (const c of after) if (!c.ok) { const k = c.error ?? `status ${c.status}`; byError[k] = (byError[k] ?? 0) + 1; }
  const okStarts = calls.filter((c) => c.ok).map((c) => c.start);
  const failStarts = calls.filter((c) => !c.ok).map((c) => c.start);
  const ok = okStarts.length;
  return {
    total: calls.length, ok, failed: calls.length - ok,
    afterT0: { total: after.length, ok: after.filter((c) => c.ok).length, failed: after.filter((c) => !c.ok).length, byError },
    lastOkSeconds: ok ? s3(Math.max(...okStarts)) : null,
    firstFailureSeconds: failStarts.length ? s3(Math.min(...failStarts)) : null,
    remoteReceived,
  };
}

/** A finished scenario: the result plus what the charts need. */
export interface ScenarioRun {
  result: ScenarioResult;
  records: RequestRecord[];
  events: KubeletEvent[];
  description: string;
  notes: string[];
  /** With --transparent: the old pod's app's outbound calls, for the timeline. */
  outboundCalls?: OutboundRecord[];
  /** `ebb check`'s warnings and errors on the pod spec this run used (see run.ts checkPodSpec). */
  checked?: CheckedFinding[];
  /** Tables of the scenario's own (the job scenario's per-setup results), printed before the notes. */
  tables?: LabTable[];
}

/** One finding of `ebb check` on the lab's pod spec, in the CLI's words. */
export interface CheckedFinding { code: string; severity: 'error' | 'warning' | 'info'; message: string; fix: string }

/** The findings as the terminal shows them, above the table: what a cluster would do differently. */
export function renderChecked(run: ScenarioRun, indent = '  '): string[] {
  const f = run.checked ?? [];
  if (f.length === 0) return [];
  return [`${indent}ebb check on this pod spec (a cluster may behave differently from this run):`,
    ...f.flatMap((x) => [`${indent}  ‼ ${x.severity.padEnd(7)} ${x.code}: ${x.message}`, `${indent}            fix: ${x.fix}`])];
}

/** A table a scenario adds to its report: rows of cells, the first cell naming the row. */
export interface LabTable { caption: string; head: string[]; rows: string[][] }

/** A LabTable as aligned text, for the terminal. */
export function renderTextTable(t: LabTable): string {
  const all = [t.head, ...t.rows];
  const ws = t.head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(ws[0]!) : c.padStart(ws[i]!))).join('  ').trimEnd();
  return all.map(line).join('\n');
}

const s3 = (ms: number): number => Math.round(ms) / 1000;

export function summarize(name: string, records: RequestRecord[], events: KubeletEvent[], config: Record<string, unknown>): ScenarioResult {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  let firstFailure: number | null = null;
  let lastFailure: number | null = null;
  let lastArrival: number | null = null;
  for (const r of records) {
    byOutcome[r.outcome]++;
    if (LOST_OUTCOMES.includes(r.outcome)) {
      // A failure happens when the client sees it (a request sent before t0 may be cut at t0 + x).
      firstFailure = firstFailure === null ? r.end : Math.min(firstFailure, r.end);
      lastFailure = lastFailure === null ? r.end : Math.max(lastFailure, r.end);
    }
    // A request reached the old pod when the old pod answered it (any status).
    if (r.target === 'old' && r.status !== undefined) lastArrival = lastArrival === null ? r.start : Math.max(lastArrival, r.start);
  }
  const containers: Record<string, ContainerPhases> = {};
  const phase = (c: string): ContainerPhases => (containers[c] ??= { preStop: null, term: null, kill: null, exit: null });
  for (const e of events) {
    if (!e.container) continue;
    const p = phase(e.container);
    if (e.type === 'preStop') p.preStop = { start: s3(e.at), end: null, detail: e.detail ?? '' };
    if ((e.type === 'preStopDone' || e.type === 'preStopTimeout') && p.preStop) p.preStop.end = s3(e.at);
    if (e.type === 'TERM') p.term = s3(e.at);
    if (e.type === 'KILL') p.kill = s3(e.at);
    if (e.type === 'exit') p.exit = s3(e.at);
  }
  const gone = events.find((e) => e.type === 'podGone');
  const noEndpoint = byOutcome['no-endpoint'];
  const failed = records.length - byOutcome.ok - noEndpoint;
  return {
    name,
    requests: { total: records.length, ok: byOutcome.ok, failed, noEndpoint, byOutcome },
    podGoneSeconds: gone ? s3(gone.at) : null,
    lastArrivalSeconds: lastArrival === null ? null : s3(lastArrival),
    firstFailureSeconds: firstFailure === null ? null : s3(firstFailure),
    phases: { lastFailureSeconds: lastFailure === null ? null : s3(lastFailure), containers },
    config,
  };
}

// ---------------------------------------------------------------------------------------------
// Terminal

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '–' : v.toFixed(digits));

/** Rows of [label, value per scenario], for both the single report and --compare. */
function tableRows(results: ScenarioResult[]): Array<[string, string[]]> {
  return [
    ['requests', results.map((r) => String(r.requests.total))],
    ['ok', results.map((r) => String(r.requests.ok))],
    ['lost (failed)', results.map((r) => String(r.requests.failed))],
    ...LOST_OUTCOMES.map((o): [string, string[]] => [`  ${o}`, results.map((r) => String(r.requests.byOutcome[o]))]),
    ...(results.some((r) => r.requests.noEndpoint > 0)
      ? [['no endpoint (not lost)', results.map((r) => String(r.requests.noEndpoint))] as [string, string[]]] : []),
    ['first failure (s)', results.map((r) => fmt(r.firstFailureSeconds))],
    ['last failure (s)', results.map((r) => fmt(r.phases.lastFailureSeconds))],
    ['last arrival at old (s)', results.map((r) => fmt(r.lastArrivalSeconds))],
    ['old pod gone (s)', results.map((r) => fmt(r.podGoneSeconds))],
    ...(results.some((r) => r.appOutbound) ? outboundRows(results) : []),
  ];
}

/** With --transparent: what happened to the old pod's app's own outbound calls. */
function outboundRows(results: ScenarioResult[]): Array<[string, string[]]> {
  const v = (f: (o: AppOutboundSummary) => string): string[] => results.map((r) => (r.appOutbound ? f(r.appOutbound) : '–'));
  return [
    ['app calls out after t0', v((o) => String(o.afterT0.total))],
    ['  ok', v((o) => String(o.afterT0.ok))],
    ['  failed', v((o) => String(o.afterT0.failed))],
    ['last ok call out (s)', v((o) => fmt(o.lastOkSeconds))],
  ];
}

export function renderTable(results: ScenarioResult[]): string {
  const rows = tableRows(results);
  const head = ['', ...results.map((r) => r.name)];
  const w0 = Math.max(...rows.map(([l]) => l.length));
  const ws = results.map((r, i) => Math.max(r.name.length, ...rows.map(([, v]) => v[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padStart(ws[i - 1]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(([l, v]) => line([l, ...v]))].join('\n');
}

export function renderPhases(run: ScenarioRun): string {
  const lines: string[] = [];
  for (const [name, p] of Object.entries(run.result.phases.containers)) {
    const parts: string[] = [];
    if (p.preStop) parts.push(`preStop ${p.preStop.detail} ${fmt(p.preStop.start)}→${fmt(p.preStop.end)} s`);
    parts.push(`TERM ${fmt(p.term)} s`);
    if (p.kill !== null) parts.push(`KILL ${fmt(p.kill)} s`);
    parts.push(`exit ${fmt(p.exit)} s`);
    lines.push(`  ${name.padEnd(12)} ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

const BARS = ' ▁▂▃▄▅▆▇█';

/** A timeline drawn with text: load and failures per time slot, and each container's marks. */
export function renderTimeline(run: ScenarioRun, width = 64): string {
  const { records, events } = run;
  if (records.length === 0) return '  (no requests)';
  const from = Math.min(0, ...records.map((r) => r.start));
  const to = Math.max(...records.map((r) => r.start), ...events.map((e) => e.at), 1);
  const slot = Math.max(100, Math.ceil((to - from) / width / 100) * 100);
  const n = Math.ceil((to - from) / slot) + 1;
  const col = (t: number): number => Math.min(n - 1, Math.max(0, Math.floor((t - from) / slot)));
  const count = (pred: (r: RequestRecord) => boolean, at: (r: RequestRecord) => number = (r) => r.start): number[] => {
    const a = new Array<number>(n).fill(0);
    for (const r of records) if (pred(r)) a[col(at(r))]!++;
    return a;
  };
  const spark = (a: number[], max: number): string => a.map((v) => (v === 0 ? ' ' : BARS[Math.max(1, Math.round((v / max) * 8))])).join('');
  const ok = count((r) => r.outcome === 'ok');
  const toOld = count((r) => r.target === 'old');
  const failed = count((r) => LOST_OUTCOMES.includes(r.outcome), (r) => r.end);
  const noEndpoint = count((r) => r.outcome === 'no-endpoint', (r) => r.end);
  const max = Math.max(1, ...ok, ...toOld, ...failed);
  const label = (s: string): string => s.padEnd(12).slice(0, 12);
  const axis = new Array<string>(n).fill(' ');
  for (let t = Math.ceil(from / 1000) * 1000; t <= to; t += 1000 * Math.max(1, Math.round((slot * 10) / 1000))) {
    const s = `${t / 1000}s`;
    const c = col(t);
    for (let i = 0; i < s.length && c + i < n; i++) axis[c + i] = s[i]!;
  }
  const perSec = 1000 / slot;
  const lines = [
    `${label('')}${axis.join('')}`,
    `${label('ok')}${spark(ok, max)}  max ${Math.round(Math.max(...ok) * perSec)}/s`,
    `${label('to old pod')}${spark(toOld, max)}`,
    `${label('failed')}${spark(failed, max)}  ${failed.reduce((a, b) => a + b, 0)} total`,
  ];
  const noEndpointTotal = noEndpoint.reduce((a, b) => a + b, 0);
  if (noEndpointTotal > 0) lines.push(`${label('no endpoint')}${spark(noEndpoint, Math.max(max, ...noEndpoint))}  ${noEndpointTotal} total (not lost: the Service had no serving endpoint)`);
  if (run.outboundCalls) {
    // The app's own calls out (old pod): when they started, ok and failed, on the same columns.
    const outOk = new Array<number>(n).fill(0);
    const outBad = new Array<number>(n).fill(0);
    for (const c of run.outboundCalls) if (c.start >= from && c.start <= to) (c.ok ? outOk : outBad)[col(c.start)]!++;
    const outMax = Math.max(1, ...outOk, ...outBad);
    lines.push(`${label('app out ok')}${spark(outOk, outMax)}`);
    lines.push(`${label('app out fail')}${spark(outBad, outMax)}  ${outBad.reduce((a, b) => a + b, 0)} total`);
  }
  for (const name of [...new Set(events.filter((e) => e.container).map((e) => e.container!))]) {
    const row = new Array<string>(n).fill(' ');
    const ev = events.filter((e) => e.container === name);
    const t = (type: string): number | undefined => ev.find((e) => e.type === type)?.at;
    const pre = t('preStop');
    const preEnd = t('preStopDone') ?? t('preStopTimeout');
    const term = t('TERM');
    const exit = t('exit');
    for (let i = col(0); i < n; i++) row[i] = '·';
    if (pre !== undefined) for (let i = col(pre); i <= col(preEnd ?? to); i++) row[i] = '-';
    if (term !== undefined) for (let i = col(term); i <= col(exit ?? to); i++) row[i] = '=';
    if (exit !== undefined) for (let i = col(exit) + 1; i < n; i++) row[i] = ' ';
    if (pre !== undefined) row[col(pre)] = 'P';
    if (term !== undefined) row[col(term)] = 'T';
    const kill = t('KILL');
    if (kill !== undefined) row[col(kill)] = 'K';
    if (exit !== undefined) row[col(exit)] = 'X';
    lines.push(`${label(name)}${row.join('')}`);
  }
  lines.push(`${label('')}one column = ${slot} ms; P preStop (- running), T TERM (= stopping), K KILL, X exit; t0 = deletion`);
  return lines.join('\n');
}

export function renderReport(runs: ScenarioRun[]): string {
  const out: string[] = [];
  if (runs.length > 1) {
    out.push('ebb lab --compare: the same load against each setup', '');
    for (const run of runs) {
      const lines = renderChecked(run, '');
      if (lines.length) out.push(`${run.result.name}: ${lines[0]}`, ...lines.slice(1), '');
    }
    out.push(renderTable(runs.map((r) => r.result)), '');
  }
  for (const run of runs) {
    const r = run.result;
    out.push(`── ${r.name}: ${run.description}`);
    if (runs.length === 1) {
      const lines = renderChecked(run);
      if (lines.length) out.push('', ...lines);
      out.push('', renderTable([r]));
    }
    out.push('', renderPhases(run), '', renderTimeline(run));
    for (const t of run.tables ?? []) out.push('', `  ${t.caption}:`, renderTextTable(t).split('\n').map((l) => `    ${l}`).join('\n'));
    if (run.tables?.length) out.push('');
    for (const n of run.notes) out.push(`  note: ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** An in-flight snapshot ({ requests, handles: { kind: n } }) in words: "2 requests, 1 inbound:http1". */
function inFlightText(v: unknown): string {
  const o = (v ?? {}) as { requests?: number; handles?: Record<string, number> };
  const handles = Object.entries(o.handles ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return [`${o.requests ?? 0} request${o.requests === 1 ? '' : 's'}`, ...handles].join(', ');
}

const seconds = (ms: unknown): string => (typeof ms === 'number' ? `${(ms / 1000).toFixed(2)} s` : '?');

/**
 * A proxy log line (pino JSON) as a sentence for the report's notes. The shutdown summary gets its
 * own wording; other lines become "message (key value, …)", nested values flattened.
 */
export function describeProxyLog(line: Record<string, unknown>): string {
  const msg = String(line.msg ?? '');
  const rest = Object.fromEntries(Object.entries(line).filter(([k]) => !['level', 'time', 'pid', 'hostname', 'name', 'msg'].includes(k)));
  if (msg === 'shutdown complete' && typeof rest.waitingMs === 'number') {
    const withdrew = rest.withdrawEndedBy === undefined || rest.withdrawEndedBy === 'skipped' ? ''
      : `withdrew ${seconds(rest.withdrawingMs)} (/ready 503, still accepting; ended by ${String(rest.withdrawEndedBy)}), `;
    return `shutdown complete (${String(rest.reason)}): waited ${seconds(rest.waitingMs)} (ended by ${String(rest.waitEndedBy)}), ${withdrew}` +
      `drained ${seconds(rest.drainingMs)} (ended by ${String(rest.drainEndedBy)}), ${seconds(rest.totalMs)} in all; ` +
      `${String(rest.servedWhileWaiting)} requests served while waiting; in flight at the trigger: ${inFlightText(rest.inFlightAtTrigger)}; ` +
      `when draining began: ${inFlightText(rest.inFlightAtDraining)}; ${String(rest.forcedCloses)} closed by force`;
  }
  if (msg === 'shutdown started' && typeof rest.reason === 'string') {
    const w = (rest.waitBeforeExit ?? {}) as { mode?: string; seconds?: number; minSeconds?: number; quietSeconds?: number; maxSeconds?: number };
    const wait = w.mode === 'auto' ? `auto (min ${w.minSeconds} s, quiet ${w.quietSeconds} s, max ${w.maxSeconds} s)` : `${w.seconds ?? 0} s`;
    const withdraw = typeof rest.withdrawTimeoutSeconds === 'number' && rest.withdrawTimeoutSeconds > 0 ? `, withdraw <= ${rest.withdrawTimeoutSeconds} s` : '';
    return `shutdown started (${rest.reason}): wait ${wait}${withdraw}, drain timeout ${String(rest.drainTimeoutSeconds)} s; in flight: ${inFlightText(rest.inFlight)}`;
  }
  const flat: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(prefix ? `${prefix}.${k}` : k, x);
    else flat.push(`${prefix} ${Array.isArray(v) ? v.join(',') : String(v)}`);
  };
  walk('', rest);
  return flat.length ? `${msg} (${flat.join(', ')})` : msg;
}

// ---------------------------------------------------------------------------------------------
// HTML

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

/** The chart's colours, named once: the legend and the SVG use the same. */
const COLOR = { ok: '#2e8b57', failed: '#d62728', preStop: '#9aa0a6', stopping: '#f39c12', kill: '#b00020', exit: '#1f5fbf', gone: '#000', t0: '#000' };

/**
 * One scenario's chart. Only short, fixed texts are drawn in the SVG (the axis' tick labels, the
 * rate at the top of the scale, one name per container lane), each in a place of its own, so no
 * two overlap and none leaves the chart: tick labels are spaced by their own width, lane names sit
 * in the left gutter, one per lane, cut to what fits. Every detail (which container did what when)
 * is in the table under the chart, and in each mark's tooltip.
 */
function svgChart(run: ScenarioRun): string {
  const W = 1000; const L = 170; const R = 20; const T = 16; const barsH = 150; const axisH = 24; const laneH = 20;
  const { records, events } = run;
  const containers = [...new Set(events.filter((e) => e.container).map((e) => e.container!))];
  const H = T + barsH + axisH + containers.length * laneH + 8;
  const from = Math.min(0, ...records.map((r) => r.start));
  const to = Math.max(1000, ...records.map((r) => Math.max(r.start, r.end)), ...events.map((e) => e.at));
  const slot = 250;
  const n = Math.ceil((to - from) / slot) + 1;
  const ok = new Array<number>(n).fill(0); const bad = new Array<number>(n).fill(0);
  for (const r of records) {
    if (r.outcome === 'ok') ok[Math.min(n - 1, Math.floor((r.start - from) / slot))]!++;
    else if (LOST_OUTCOMES.includes(r.outcome)) bad[Math.min(n - 1, Math.floor((r.end - from) / slot))]!++;
  }
  const max = Math.max(1, ...ok.map((v, i) => v + bad[i]!));
  const plotW = W - L - R;
  const x = (t: number): number => L + ((t - from) / (to - from + slot)) * plotW;
  const base = T + barsH;
  const y = (v: number): number => T + barsH * (1 - v / max);
  const bw = Math.max(1, plotW / n - 1);
  const f1 = (v: number): string => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<rect x="${L}" y="${T}" width="${plotW}" height="${barsH}" fill="#fafafa"/>`);
  for (let i = 0; i < n; i++) {
    const t = from + i * slot;
    const when = `${f1((t) / 1000)}–${f1((t + slot) / 1000)} s`;
    if (ok[i]) parts.push(`<rect class="bar-ok" x="${f1(x(t))}" y="${f1(y(ok[i]!))}" width="${f1(bw)}" height="${f1(base - y(ok[i]!))}" fill="${COLOR.ok}"><title>${when}: ${ok[i]} ok</title></rect>`);
    if (bad[i]) parts.push(`<rect class="bar-failed" x="${f1(x(t))}" y="${f1(y(ok[i]! + bad[i]!))}" width="${f1(bw)}" height="${f1(y(ok[i]!) - y(ok[i]! + bad[i]!))}" fill="${COLOR.failed}"><title>${when}: ${bad[i]} failed</title></rect>`);
  }
  // Axis: a tick every `step` seconds, with `step` large enough for the widest label (about 7 px a character at 12 px).
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${base}" y2="${base}" stroke="#333"/>`);
  const widest = Math.max(...[from, to].map((t) => `${Math.round(t / 1000)} s`.length)) * 7 + 12;
  const pxPerSecond = (x(1000) - x(0));
  const step = [1, 2, 5, 10, 20, 30, 60, 120].find((s) => s * pxPerSecond >= widest) ?? 300;
  for (let sec = Math.ceil(from / 1000 / step) * step; sec * 1000 <= to; sec += step) {
    const tx = x(sec * 1000);
    const label = sec === 0 ? 't0' : `${sec} s`;
    parts.push(`<line x1="${f1(tx)}" x2="${f1(tx)}" y1="${base}" y2="${base + 4}" stroke="#333"/><text class="label" x="${f1(tx)}" y="${base + 17}" font-size="12" text-anchor="middle">${label}</text>`);
  }
  // The scale: the rate the top of the chart stands for, in the left gutter.
  parts.push(`<text class="label" x="${L - 8}" y="${T + 12}" font-size="12" text-anchor="end">${Math.round((max * 1000) / slot)} req/s</text>`);
  parts.push(`<text class="label" x="${L - 8}" y="${base}" font-size="12" text-anchor="end">0</text>`);
  // t0 and the moment the pod was gone, across the bars.
  parts.push(`<line x1="${f1(x(0))}" x2="${f1(x(0))}" y1="${T}" y2="${base}" stroke="${COLOR.t0}" stroke-width="1.5"><title>t0: the old pod is deleted</title></line>`);
  const gone = events.find((e) => e.type === 'podGone');
  if (gone) parts.push(`<line x1="${f1(x(gone.at))}" x2="${f1(x(gone.at))}" y1="${T}" y2="${H - 8}" stroke="${COLOR.gone}" stroke-dasharray="4,3"><title>old pod gone at ${(gone.at / 1000).toFixed(2)} s</title></line>`);
  // One lane per container: preStop running (grey), stopping from TERM to exit (orange), KILL (red), exit (blue).
  const maxChars = Math.floor((L - 16) / 7);
  containers.forEach((name, i) => {
    const top = base + axisH + i * laneH;
    const mid = top + laneH / 2;
    const ev = events.filter((e) => e.container === name);
    const at = (type: string): number | undefined => ev.find((e) => e.type === type)?.at;
    const shown = name.length > maxChars ? `${name.slice(0, maxChars - 1)}…` : name;
    parts.push(`<text class="label lane-name" x="${L - 8}" y="${mid + 4}" font-size="12" text-anchor="end"><title>${esc(name)}</title>${esc(shown)}</text>`);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${mid}" y2="${mid}" stroke="#e3e3e3"/>`);
    const pre = at('preStop'); const preEnd = at('preStopDone') ?? at('preStopTimeout');
    const term = at('TERM'); const kill = at('KILL'); const exit = at('exit');
    const span = (a: number, b: number, color: string, what: string): void => {
      parts.push(`<rect x="${f1(x(a))}" y="${top + 4}" width="${f1(Math.max(2, x(b) - x(a)))}" height="${laneH - 8}" fill="${color}"><title>${esc(name)}: ${what} ${(a / 1000).toFixed(2)}–${(b / 1000).toFixed(2)} s</title></rect>`);
    };
    if (pre !== undefined) span(pre, preEnd ?? term ?? exit ?? to, COLOR.preStop, 'preStop');
    if (term !== undefined) span(term, exit ?? to, COLOR.stopping, 'TERM → exit');
    if (kill !== undefined) parts.push(`<path d="M${f1(x(kill))},${top + 2} l5,${laneH / 2 - 2} l-5,${laneH / 2 - 2} l-5,${-(laneH / 2 - 2)} z" fill="${COLOR.kill}"><title>${esc(name)}: KILL at ${(kill / 1000).toFixed(2)} s</title></path>`);
    if (exit !== undefined) parts.push(`<rect x="${f1(x(exit) - 1.5)}" y="${top + 2}" width="3" height="${laneH - 4}" fill="${COLOR.exit}"><title>${esc(name)}: exit at ${(exit / 1000).toFixed(2)} s</title></rect>`);
  });
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(run.result.name)}: requests per 250 ms and each container's termination">${parts.join('')}</svg>`;
}

const LEGEND: Array<[string, string, string]> = [
  ['bar', COLOR.ok, 'requests answered (per 250 ms, by start)'],
  ['bar', COLOR.failed, 'requests failed (by when the client saw it)'],
  ['line', COLOR.t0, 't0: the old pod is deleted'],
  ['dash', COLOR.gone, 'the old pod is gone (every container exited)'],
  ['bar', COLOR.preStop, 'a container\'s preStop hook running'],
  ['bar', COLOR.stopping, 'stopping: from its TERM to its exit'],
  ['diamond', COLOR.kill, 'KILL'],
  ['tick', COLOR.exit, 'exit'],
];

function legend(): string {
  const swatch = (kind: string, c: string): string => {
    const shape = kind === 'line' ? `<line x1="2" x2="22" y1="7" y2="7" stroke="${c}" stroke-width="2"/>`
      : kind === 'dash' ? `<line x1="2" x2="22" y1="7" y2="7" stroke="${c}" stroke-width="2" stroke-dasharray="4,3"/>`
        : kind === 'diamond' ? `<path d="M12,1 l6,6 l-6,6 l-6,-6 z" fill="${c}"/>`
          : kind === 'tick' ? `<rect x="10" y="0" width="4" height="14" fill="${c}"/>`
            : `<rect x="2" y="2" width="20" height="10" fill="${c}"/>`;
    return `<svg width="24" height="14" aria-hidden="true">${shape}</svg>`;
  };
  return `<ul class="legend">${LEGEND.map(([k, c, text]) => `<li>${swatch(k, c)}<span>${esc(text)}</span></li>`).join('')}</ul>`;
}

function htmlTable(head: string[], rows: string[][], caption?: string): string {
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Each container's termination, as a table (what the terminal prints as phase lines). */
function phasesTable(run: ScenarioRun): string {
  const rows = Object.entries(run.result.phases.containers).map(([name, p]) => [
    name,
    p.preStop ? `${p.preStop.detail}, ${fmt(p.preStop.start)} → ${fmt(p.preStop.end)}` : '—',
    fmt(p.term), p.kill === null ? '—' : fmt(p.kill), fmt(p.exit),
  ]);
  if (rows.length === 0) return '';
  return htmlTable(['container', 'preStop (s)', 'TERM (s)', 'KILL (s)', 'exit (s)'], rows, 'Each container\'s termination, in seconds from t0');
}

export function renderHtml(runs: ScenarioRun[]): string {
  const results = runs.map((r) => r.result);
  const table = htmlTable(['', ...results.map((r) => r.name)], tableRows(results).map(([l, v]) => [l, ...v]));
  const sections = runs.map((run) => [
    `<section><h2>${esc(run.result.name)}</h2><p>${esc(run.description)}</p>`,
    run.checked?.length ? `<h3>ebb check on this pod spec</h3><ul class="notes checked">${run.checked.map((f) => `<li><strong>${esc(f.severity)} ${esc(f.code)}</strong>: ${esc(f.message)}<br>fix: ${esc(f.fix)}</li>`).join('')}</ul>` : '',
    `<div class="chart-box">${svgChart(run)}</div>`,
    phasesTable(run),
    ...(run.tables ?? []).map((t) => htmlTable(t.head, t.rows, t.caption)),
    run.notes.length ? `<h3>Notes</h3><ul class="notes">${run.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
    '</section>',
  ].join('')).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>ebb lab</title><style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:15px;line-height:1.45;color:#222;margin:2em auto;padding:0 1.5em;max-width:1080px}
h1{margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ddd}h3{font-size:15px;margin:1.2em 0 .3em}
table{border-collapse:collapse;margin:.8em 0;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.2em 0}
td,th{padding:3px 12px;text-align:right;border-bottom:1px solid #e3e3e3;vertical-align:top}thead th{border-bottom:2px solid #bbb}
th[scope=row]{text-align:left;font-weight:normal}
.chart-box{max-width:100%;overflow:hidden}.chart{display:block;max-width:100%;height:auto;font-family:inherit}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.4em;list-style:none;padding:0;margin:.8em 0}.legend li{display:flex;align-items:center;gap:.4em}
.notes{padding-left:1.2em}.notes li{margin:.3em 0;overflow-wrap:anywhere;white-space:pre-wrap}
details pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px}
</style></head><body>
<h1>ebb lab</h1><p>Each chart: the requests the clients sent while the old pod was deleted at t0, and below it one lane per container with its termination. The table under each chart gives the times.</p>
${legend()}
${table}
${sections}
<details><summary>JSON</summary><pre>${esc(JSON.stringify(results, null, 2))}</pre></details>
</body></html>
`;
}
