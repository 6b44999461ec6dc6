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
  scenario: Scenario | 'rss';
  peer: string;
  /** ebb ÷ peer throughput (or ebb's idle RSS in MB for the "rss" line). */
  value: number;
  ebbP99Us?: number | null;
  peerP99Us?: number | null;
  target?: string;
  met?: boolean;
  caveat?: string;
}

/** The targets: reported, never asserted. */
const GOALS: { scenario: Scenario; peer: string; min: number }[] = [
  { scenario: 'h1', peer: 'fastify', min: 1.3 },
  { scenario: 'h1', peer: 'undici', min: 1.0 },
  { scenario: 'tcp', peer: 'pipe', min: 0.9 },
  { scenario: 'tcp-echo', peer: 'pipe', min: 0.9 },
];
export const RSS_IDLE_GOAL_MB = 60;

export function ratios(cells: Cell[]): Ratio[] {
  const out: Ratio[] = [];
  const ok = cells.filter((c) => c.status === 'ok' && c.rate);
  for (const e of ok.filter((c) => c.target === 'ebb')) {
    for (const p of ok.filter((c) => c.scenario === e.scenario && c.target !== 'ebb')) {
      const goal = GOALS.find((g) => g.scenario === e.scenario && g.peer === p.target);
      const value = e.rate! / p.rate!;
      const errs = (e.errors ?? 0) + (p.errors ?? 0);
      out.push({
        scenario: e.scenario,
        peer: p.target,
        value,
        ebbP99Us: e.p99Us,
        peerP99Us: p.p99Us,
        ...(goal ? { target: `≥ ${goal.min}×`, met: value >= goal.min } : {}),
        ...(errs ? { caveat: 'errors during the run: the ratio is not a fair number' } : {}),
      });
    }
  }
  const idle = ok.filter((c) => c.target === 'ebb' && c.rssIdleBytes).map((c) => c.rssIdleBytes! / 1e6);
  if (idle.length) {
    const worst = Math.max(...idle);
    out.push({ scenario: 'rss', peer: 'idle', value: worst, target: `≤ ${RSS_IDLE_GOAL_MB} MB`, met: worst <= RSS_IDLE_GOAL_MB });
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
  for (const r of rs) {
    if (r.scenario === 'rss') {
      rows.push(['idle RSS', 'ebb (worst run)', `${r.value.toFixed(1)} MB`, '', r.target ?? '', r.met ? 'met' : 'MISSED']);
      continue;
    }
    const p99 = r.ebbP99Us && r.peerP99Us ? `${fmtLatency(r.ebbP99Us)} / ${fmtLatency(r.peerP99Us)}` : '';
    const verdict = r.target ? (r.met ? 'met' : 'MISSED') : '';
    rows.push([r.scenario, r.peer, `${r.value.toFixed(2)}×`, p99, r.target ?? '', verdict + (r.caveat ? ' (errors!)' : '')]);
  }
  return table(rows);
}
