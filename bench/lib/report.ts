// Results as data (one Cell per scenario × target), the ratios of ebb to each peer, and the text table.
import type { Scenario } from './targets.js';

export interface Cell {
  scenario: Scenario;
  target: string;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  rate?: number;
  unit?: 'req/s' | 'MB/s';
  p50Us?: number | null;
  p99Us?: number | null;
  requests?: number;
  errors?: number;
  errorDetail?: string;
  rssIdleBytes?: number | null;
  rssLoadBytes?: number | null;
  cpuPercent?: number | null;
  /** The proxy's CPU time per request in µs (req/s scenarios only). */
  cpuUsPerRequest?: number | null;
  info?: Record<string, unknown>;
}

export interface Ratio {
  /** 'rss' lines are ebb's memory; 'cpu' and 'p99' lines compare CPU/req and fixed-rate latency. */
  scenario: Scenario | 'rss';
  kind: 'throughput' | 'cpu' | 'p99' | 'rss-idle' | 'rss-load';
  /** Which ebb: `ebb`, or a variant such as `ebb-node`. */
  ebb: string;
  peer: string;
  /** throughput: ebb ÷ peer; cpu: ebb's CPU/req ÷ the peer's; p99: ebb's p99 − the peer's (ms); rss: ebb's worst MB. */
  value: number;
  ebbP99Us?: number | null;
  peerP99Us?: number | null;
  target?: string;
  met?: boolean;
  caveat?: string;
}

/** Issue 16's targets (and issue 2's that still stand): reported, never asserted. */
const GOALS: { scenario: Scenario; peer: string; min: number; layout?: 'alone' }[] = [
  { scenario: 'h1', peer: 'haproxy', min: 0.6, layout: 'alone' }, // judged only with the proxy alone on its core
  { scenario: 'h1', peer: 'undici', min: 2.0 },
  { scenario: 'h1', peer: 'fastify', min: 1.3 },
  { scenario: 'tcp', peer: 'pipe', min: 0.95 },
  { scenario: 'tcp-echo', peer: 'pipe', min: 1.0 },
];
/** CPU/req: ebb at most `maxUs` and (or, with `either`) at most `maxOfPeer` × the peer's CPU/req in the same run. */
const CPU_GOALS: { scenario: Scenario; maxUs: number; peer: string; maxOfPeer: number; either: boolean }[] = [
  { scenario: 'h1', maxUs: 20, peer: 'haproxy', maxOfPeer: 1.6, either: false },
  { scenario: 'h2c', maxUs: 25, peer: 'h2fwd', maxOfPeer: 1.0, either: true },
];
/** Fixed-rate latency: ebb's p99 at most the peer's + this many ms. */
const P99_GOAL = { scenario: 'h1-2k' as Scenario, peer: 'haproxy', plusMs: 0.5 };
export const RSS_IDLE_GOAL_MB = 48;
export const RSS_LOAD_GOAL_MB = 96;

const isEbb = (target: string): boolean => target === 'ebb' || target.startsWith('ebb-');

/** `layout`: the run's (--layout); a goal meant for another layout is shown with its ratio and no verdict. */
export function ratios(cells: Cell[], layout: 'shared' | 'alone' = 'shared'): Ratio[] {
  const out: Ratio[] = [];
  for (const v of [...new Set(cells.filter((c) => isEbb(c.target)).map((c) => c.target))]) out.push(...ratiosOf(cells, v, layout));
  return out;
}

function ratiosOf(cells: Cell[], ebb: string, layout: 'shared' | 'alone'): Ratio[] {
  const out: Ratio[] = [];
  const ok = cells.filter((c) => c.status === 'ok' && c.rate);
  const caveat = (a: Cell, b?: Cell): { caveat?: string } => (((a.errors ?? 0) + (b?.errors ?? 0)) ? { caveat: 'errors during the run: the ratio is not a fair number' } : {});
  for (const e of ok.filter((c) => c.target === ebb)) {
    if (e.scenario === 'h1-2k') continue; // a fixed rate: every proxy does the same req/s
    for (const p of ok.filter((c) => c.scenario === e.scenario && !isEbb(c.target))) {
      const goal = GOALS.find((g) => g.scenario === e.scenario && g.peer === p.target);
      const value = e.rate! / p.rate!;
      out.push({
        scenario: e.scenario, kind: 'throughput', ebb, peer: p.target, value, ebbP99Us: e.p99Us, peerP99Us: p.p99Us,
        ...(goal ? goal.layout && goal.layout !== layout
          ? { target: `≥ ${goal.min}× with --layout ${goal.layout}` }
          : { target: `≥ ${goal.min}×`, met: value >= goal.min } : {}), ...caveat(e, p),
      });
    }
  }
  for (const g of CPU_GOALS) {
    const e = ok.find((c) => c.target === ebb && c.scenario === g.scenario);
    const ebbUs = e?.cpuUsPerRequest;
    if (!e || ebbUs === null || ebbUs === undefined) continue;
    const peerUs = ok.find((c) => c.target === g.peer && c.scenario === g.scenario)?.cpuUsPerRequest ?? null;
    const underAbs = ebbUs <= g.maxUs;
    const underPeer = peerUs !== null ? ebbUs <= g.maxOfPeer * peerUs : null;
    const met = g.either ? underAbs || underPeer === true : underAbs && underPeer !== false;
    out.push({
      scenario: g.scenario, kind: 'cpu', ebb, peer: g.peer, value: peerUs ? ebbUs / peerUs : NaN,
      target: `≤ ${g.maxUs}µs ${g.either ? 'or' : 'and'} ≤ ${g.maxOfPeer}× ${g.peer} (ebb ${ebbUs.toFixed(1)}µs, ${g.peer} ${peerUs === null ? '–' : `${peerUs.toFixed(1)}µs`})`,
      met, ...caveat(e),
    });
  }
  const e2k = ok.find((c) => c.target === ebb && c.scenario === P99_GOAL.scenario);
  const p2k = ok.find((c) => c.target === P99_GOAL.peer && c.scenario === P99_GOAL.scenario);
  if (e2k?.p99Us && p2k?.p99Us) {
    const diffMs = (e2k.p99Us - p2k.p99Us) / 1000;
    out.push({
      scenario: P99_GOAL.scenario, kind: 'p99', ebb, peer: P99_GOAL.peer, value: diffMs, ebbP99Us: e2k.p99Us, peerP99Us: p2k.p99Us,
      target: `p99 ≤ ${P99_GOAL.peer} + ${P99_GOAL.plusMs} ms`, met: diffMs <= P99_GOAL.plusMs, ...caveat(e2k, p2k),
    });
  }
  const ebbs = ok.filter((c) => c.target === ebb);
  const idle = ebbs.filter((c) => c.rssIdleBytes).map((c) => c.rssIdleBytes! / 1e6);
  if (idle.length) {
    const worst = Math.max(...idle);
    out.push({ scenario: 'rss', kind: 'rss-idle', ebb, peer: 'idle', value: worst, target: `≤ ${RSS_IDLE_GOAL_MB} MB`, met: worst <= RSS_IDLE_GOAL_MB });
  }
  const load = ebbs.filter((c) => c.rssLoadBytes).map((c) => c.rssLoadBytes! / 1e6);
  if (load.length) {
    const worst = Math.max(...load);
    out.push({ scenario: 'rss', kind: 'rss-load', ebb, peer: 'load', value: worst, target: `≤ ${RSS_LOAD_GOAL_MB} MB`, met: worst <= RSS_LOAD_GOAL_MB });
  }
  return out;
}

export function fmtLatency(us: number | null | undefined): string {
  if (us === null || us === undefined) return '–';
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(2)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

const mb = (b: number | null | undefined): string => (b ? `${(b / 1e6).toFixed(1)} MB` : '–');

function fmtRate(c: Cell): string {
  if (c.rate === undefined) return '–';
  return c.unit === 'MB/s' ? `${c.rate.toFixed(0)} MB/s` : `${Math.round(c.rate).toLocaleString('en-US')} req/s`;
}

/**
 * The proxy's CPU time per request (its CPU share ÷ its req/s): what a request costs the proxy,
 * which moves less than req/s when other work on the machine takes CPU time away.
 */
export function cpuUsPerRequest(c: Cell): number | null {
  if (c.unit !== 'req/s' || !c.rate || c.cpuPercent === null || c.cpuPercent === undefined) return null;
  return (c.cpuPercent / 100) * 1e6 / c.rate;
}

function cpuPerRequest(c: Cell): string {
  const us = cpuUsPerRequest(c);
  return us === null ? '–' : `${us.toFixed(1)}µs`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
}

export function renderCells(cells: Cell[]): string {
  const rows = [['scenario', 'proxy', 'throughput', 'p50', 'p99', 'errors', 'RSS idle', 'RSS load', 'proxy CPU', 'CPU/req']];
  for (const c of cells) {
    if (c.status !== 'ok') {
      rows.push([c.scenario, c.target, c.status, '', '', '', '', '', '', '']);
      continue;
    }
    rows.push([
      c.scenario, c.target, fmtRate(c), fmtLatency(c.p50Us), fmtLatency(c.p99Us), String(c.errors ?? 0),
      mb(c.rssIdleBytes), mb(c.rssLoadBytes), c.cpuPercent === null || c.cpuPercent === undefined ? '–' : `${c.cpuPercent.toFixed(0)}%`,
      cpuPerRequest(c),
    ]);
  }
  return table(rows);
}

export function renderRatios(rs: Ratio[]): string {
  const rows = [['scenario', 'ebb vs', 'ratio', 'p99 ebb/peer', 'target', 'verdict']];
  for (const r0 of rs) {
    const r = r0.ebb === 'ebb' ? r0 : { ...r0, scenario: `${r0.ebb}: ${r0.scenario}` as Scenario };
    const verdict = r.target && r.met !== undefined ? (r.met ? 'met' : 'MISSED') + (r.caveat ? ' (errors!)' : '') : r.target ? 'not judged' : '';
    const p99 = r.ebbP99Us && r.peerP99Us ? `${fmtLatency(r.ebbP99Us)} / ${fmtLatency(r.peerP99Us)}` : '';
    switch (r.kind) {
      case 'rss-idle': rows.push([`${r.ebb === 'ebb' ? '' : `${r.ebb}: `}idle RSS`, 'worst run', `${r.value.toFixed(1)} MB`, '', r.target ?? '', verdict]); break;
      case 'rss-load': rows.push([`${r.ebb === 'ebb' ? '' : `${r.ebb}: `}load RSS`, 'worst run', `${r.value.toFixed(1)} MB`, '', r.target ?? '', verdict]); break;
      case 'cpu': rows.push([`${r.scenario} CPU/req`, r.peer, Number.isFinite(r.value) ? `${r.value.toFixed(2)}×` : '–', '', r.target ?? '', verdict]); break;
      case 'p99': rows.push([`${r.scenario} p99`, r.peer, `${r.value >= 0 ? '+' : ''}${r.value.toFixed(2)} ms`, p99, r.target ?? '', verdict]); break;
      default: rows.push([r.scenario, r.peer, `${r.value.toFixed(2)}×`, p99, r.target ?? '', verdict]);
    }
  }
  return table(rows);
}
