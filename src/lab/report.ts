/**
 * Turning one lab run (request records + kubelet events) into numbers, and numbers into a terminal
 * table, a terminal timeline, a self-contained HTML page with SVG charts, and JSON.
 */
import type { KubeletEvent } from './kubelet.js';
import { OUTCOMES, type Outcome, type RequestRecord } from './load.js';

export interface ContainerPhases {
  preStop: { start: number; end: number | null; detail: string } | null;
  term: number | null;
  kill: number | null;
  exit: number | null;
}

/** The JSON shape of one scenario (the issue's contract): times in seconds from t0. */
export interface ScenarioResult {
  name: string;
  requests: { total: number; ok: number; failed: number; byOutcome: Record<Outcome, number> };
  podGoneSeconds: number | null;
  lastArrivalSeconds: number | null;
  firstFailureSeconds: number | null;
  phases: { lastFailureSeconds: number | null; containers: Record<string, ContainerPhases> };
  config: Record<string, unknown>;
  /** With --transparent: the old pod's app's own outbound calls, through the proxy's outbound listener. */
  appOutbound?: AppOutboundSummary;
  /** With --last-replica: when the old pod stopped `serving` (s from t0; null: it served until gone), and why. */
  serving?: { endedSeconds: number | null; endedBy: string | null };
}

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
}

const s3 = (ms: number): number => Math.round(ms) / 1000;

export function summarize(name: string, records: RequestRecord[], events: KubeletEvent[], config: Record<string, unknown>): ScenarioResult {
  const byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  let firstFailure: number | null = null;
  let lastFailure: number | null = null;
  let lastArrival: number | null = null;
  for (const r of records) {
    byOutcome[r.outcome]++;
    if (r.outcome !== 'ok') {
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
  const failed = records.length - byOutcome.ok;
  return {
    name,
    requests: { total: records.length, ok: byOutcome.ok, failed, byOutcome },
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
    ...OUTCOMES.filter((o) => o !== 'ok').map((o): [string, string[]] => [`  ${o}`, results.map((r) => String(r.requests.byOutcome[o]))]),
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
  const failed = count((r) => r.outcome !== 'ok', (r) => r.end);
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
    out.push('ebb lab --compare: the same load against each setup', '', renderTable(runs.map((r) => r.result)), '');
  }
  for (const run of runs) {
    const r = run.result;
    out.push(`── ${r.name}: ${run.description}`);
    if (runs.length === 1) out.push('', renderTable([r]));
    out.push('', renderPhases(run), '', renderTimeline(run));
    for (const n of run.notes) out.push(`  note: ${n}`);
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// HTML

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

function svgChart(run: ScenarioRun): string {
  const W = 900; const H = 220; const L = 50; const T = 10; const B = 30;
  const { records, events } = run;
  const from = Math.min(0, ...records.map((r) => r.start));
  const to = Math.max(1, ...records.map((r) => r.start), ...events.map((e) => e.at));
  const slot = 250;
  const n = Math.ceil((to - from) / slot) + 1;
  const ok = new Array<number>(n).fill(0); const bad = new Array<number>(n).fill(0);
  for (const r of records) {
    if (r.outcome === 'ok') ok[Math.floor((r.start - from) / slot)]!++;
    else bad[Math.min(n - 1, Math.floor((r.end - from) / slot))]!++;
  }
  const max = Math.max(1, ...ok.map((v, i) => v + bad[i]!));
  const x = (t: number): number => L + ((t - from) / (to - from)) * (W - L - 10);
  const y = (v: number): number => T + (H - T - B) * (1 - v / max);
  const bw = Math.max(1, (W - L - 10) / n - 1);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = from + i * slot;
    if (ok[i]) parts.push(`<rect x="${x(t).toFixed(1)}" y="${y(ok[i]!).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - B - y(ok[i]!)).toFixed(1)}" fill="#4a9"/>`);
    if (bad[i]) parts.push(`<rect x="${x(t).toFixed(1)}" y="${y(ok[i]! + bad[i]!).toFixed(1)}" width="${bw.toFixed(1)}" height="${(y(ok[i]!) - y(ok[i]! + bad[i]!)).toFixed(1)}" fill="#d33"/>`);
  }
  for (let t = Math.ceil(from / 1000) * 1000; t <= to; t += 1000) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${H - B}" y2="${H - B + 4}" stroke="#333"/><text x="${x(t)}" y="${H - B + 16}" font-size="10" text-anchor="middle">${t / 1000}s</text>`);
  }
  parts.push(`<text x="4" y="${T + 10}" font-size="10">${Math.round((max * 1000) / slot)}/s</text>`);
  const colors: Record<string, string> = { preStop: '#888', TERM: '#c60', KILL: '#d00', exit: '#06c', podGone: '#000' };
  let k = 0;
  for (const e of events) {
    const c = colors[e.type];
    if (!c) continue;
    const label = `${e.container ?? 'pod'} ${e.type === 'podGone' ? 'gone' : e.type}`;
    parts.push(`<line x1="${x(e.at)}" x2="${x(e.at)}" y1="${T}" y2="${H - B}" stroke="${c}" stroke-dasharray="3,2"><title>${esc(label)} at ${(e.at / 1000).toFixed(2)} s</title></line>`);
    parts.push(`<text x="${x(e.at) + 2}" y="${T + 12 + (k++ % 6) * 11}" font-size="9" fill="${c}">${esc(label)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><line x1="${L}" x2="${W - 10}" y1="${H - B}" y2="${H - B}" stroke="#333"/>${parts.join('')}</svg>`;
}

export function renderHtml(runs: ScenarioRun[]): string {
  const results = runs.map((r) => r.result);
  const rows = tableRows(results);
  const table = `<table><tr><th></th>${results.map((r) => `<th>${esc(r.name)}</th>`).join('')}</tr>${rows.map(([l, v]) => `<tr><td>${esc(l)}</td>${v.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
  const sections = runs.map((run) => `<section><h2>${esc(run.result.name)}</h2><p>${esc(run.description)}</p>${svgChart(run)}<pre>${esc(renderPhases(run))}</pre>${run.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}</section>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>ebb lab</title><style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:right;border-bottom:1px solid #ddd}
td:first-child{text-align:left}.note{color:#a60}pre{font-size:12px}</style></head><body>
<h1>ebb lab</h1><p>Requests by outcome when the old pod is deleted at t0 (green ok, red failed, per 250 ms); dashed lines: each container's preStop, TERM, KILL and exit.</p>
${table}
${sections}
<details><summary>JSON</summary><pre>${esc(JSON.stringify(results, null, 2))}</pre></details>
</body></html>
`;
}
