/**
 * Draws a pod template's termination on a time axis in the terminal: per app container its preStop
 * and TERM, the proxy's wait, TERM and drain, and the kubelet's SIGKILL deadline.
 *   =  preStop / proxy wait (still serving)     T  TERM      ~  proxy draining
 *   .  running, waiting for its TERM            ?  preStop of unknown length   X  SIGKILL
 * An app's /wait-quiet hook is drawn as a preStop of its longest length (max=): it may end earlier.
 */
import { PROXY_CONTAINER } from './sidecar.js';
import type { TimingModel } from './types.js';

const WIDTH = 50;
const LABEL = 18;

interface Row { label: string; cells: string[]; note: string }

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n - 1) + ' ' : s + ' '.repeat(n - s.length);
}

export function timelineLines(m: TimingModel): string[] {
  const G = m.graceSeconds;
  const W = m.mode === 'classic' ? m.proxyWaitSeconds : 0;
  const sleeps = m.apps.map((a) => (a.preStop.kind === 'sleep' || a.preStop.kind === 'wait-quiet' ? a.preStop.seconds : 0));
  const waitsQuiet = m.apps.some((a) => a.preStop.kind === 'wait-quiet' && a.preStop.seconds === Math.max(0, ...sleeps));
  const appsDone = Math.max(0, ...sleeps);
  // Classic mode with an auto wait: after its TERM at W the proxy serves on for up to MAX.
  const autoMax = m.mode === 'classic' ? m.proxyWaitAutoMaxSeconds : undefined;
  const end = Math.max(G, W + (autoMax ?? 0), appsDone, 1);
  const col = (t: number): number => Math.min(WIDTH, Math.round((t / end) * WIDTH));
  const blank = (): string[] => Array.from({ length: WIDTH + 1 }, () => ' ');
  const fill = (cells: string[], from: number, to: number, ch: string): void => {
    for (let i = col(from); i < col(to); i++) cells[i] = ch;
  };
  const rows: Row[] = [];

  for (const app of m.apps) {
    const cells = blank();
    let note: string;
    if (app.preStop.kind === 'sleep') {
      const s = app.preStop.seconds;
      fill(cells, 0, Math.min(s, G), '=');
      cells[col(Math.min(s, G))] = s > G ? 'X' : 'T';
      note = s > G ? `preStop sleep ${s}s: killed at ${G}s before TERM` : `preStop sleep ${s}s, TERM at ${s}s`;
    } else if (app.preStop.kind === 'wait-quiet') {
      const s = app.preStop.seconds;
      fill(cells, 0, Math.min(s, G), '=');
      cells[col(Math.min(s, G))] = s > G ? 'X' : 'T';
      note = s > G ? `preStop /wait-quiet <= ${s}s: killed at ${G}s if traffic never stops` : `preStop /wait-quiet until inbound is quiet, TERM by ${s}s`;
    } else if (app.preStop.kind === 'other') {
      cells[0] = '?';
      note = `preStop ${app.preStop.shape} (length unknown), then TERM`;
    } else {
      cells[0] = 'T';
      note = 'no preStop: TERM at 0s';
    }
    rows.push({ label: app.name, cells, note });
  }

  if (m.mode !== 'none') {
    const cells = blank();
    const D = m.drainTimeoutSeconds;
    let note: string;
    if (m.mode === 'classic') {
      fill(cells, 0, Math.min(W, G), '=');
      if (W > G) { cells[col(G)] = 'X'; note = `wait ${W}s: killed at ${G}s before TERM`; } else if (autoMax !== undefined) {
        // Worst case: the auto wait runs to MAX, then the drain gets what is left.
        const drainFrom = Math.min(W + autoMax, G);
        fill(cells, W, drainFrom, '=');
        fill(cells, drainFrom, Math.min(drainFrom + D, G), '~');
        cells[col(W)] = 'T';
        if (W + autoMax >= G) cells[col(G)] = 'X';
        note = `${W > 0 ? `wait ${W}s, ` : ''}TERM at ${W}s, auto wait <= ${autoMax}s, ${W + autoMax >= G ? `killed at ${G}s before draining` : `drain <= ${Math.min(D, G - W - autoMax)}s`}`;
      } else {
        fill(cells, W, Math.min(W + D, G), '~');
        cells[col(W)] = 'T';
        note = `${W > 0 ? `wait ${W}s, ` : 'no wait, '}TERM at ${W}s, drain <= ${Math.min(D, G - W)}s`;
      }
    } else {
      fill(cells, 0, appsDone, '.');
      fill(cells, appsDone, Math.min(appsDone + D, G), '~');
      cells[col(Math.min(appsDone, G))] = 'T';
      note = `native: TERM once the app has exited (${waitsQuiet ? `its /wait-quiet ends by ${appsDone}s` : `>= ${appsDone}s`}), drain <= ${Math.max(0, Math.min(D, G - appsDone))}s`;
    }
    rows.push({ label: m.proxyName ?? PROXY_CONTAINER, cells, note });
  }

  const kill = blank();
  kill[col(G)] = 'X';
  rows.push({ label: 'kubelet', cells: kill, note: `SIGKILL at ${G}s (terminationGracePeriodSeconds${m.graceDefaulted ? ', default' : ''})` });

  const axis = blank().map((_, i) => (i === 0 || i === WIDTH ? '|' : i % Math.round(WIDTH / 4) === 0 ? '+' : '-'));
  const ticks = blank();
  const put = (t: number, text: string): void => {
    const at = Math.min(col(t), WIDTH + 1 - text.length);
    for (let i = 0; i < text.length; i++) ticks[at + i] = text[i]!;
  };
  put(0, '0s');
  put(end, `${end}s`);
  return [
    `  ${pad('', LABEL)}${ticks.join('')}`,
    `  ${pad('', LABEL)}${axis.join('')}`,
    ...rows.map((r) => `  ${pad(r.label, LABEL)}${r.cells.join('')}  ${r.note}`),
    `  ${pad('', LABEL)}= preStop/wait  T TERM  ~ drain  . running  ? unknown  X SIGKILL`,
  ];
}
