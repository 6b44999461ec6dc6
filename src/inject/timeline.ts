/**
 * Draws a pod template's termination on a time axis in the terminal, from the kubelet's arithmetic
 * (termination.ts, the same rules the lab's kubelet simulator runs): per container its preStop,
 * its wait for its turn (native sidecars), its stop signal, its stop, and a SIGKILL if it comes.
 *   =  preStop / proxy wait (still serving)     T  TERM      ~  proxy draining
 *   .  running, waiting for its TERM            ?  preStop of unknown length   X  SIGKILL
 *   |  (kubelet row) the grace period's deadline
 * An app's /wait-quiet hook is drawn as a preStop of its longest length (max=): it may end earlier.
 * The app is drawn as exiting at its TERM (its own shutdown time is not in the manifest); the
 * proxy as using its whole drain deadline (its worst case).
 */
import { PROXY_CONTAINER } from './sidecar.js';
import { planContainers, planTermination, type PlanResult } from './termination.js';
import type { TimingModel } from './types.js';

const WIDTH = 50;
const LABEL = 18;

interface Row { label: string; cells: string[]; note: string }

function pad(s: string, n: number): string {
  return s.length >= n ? s.slice(0, n - 1) + ' ' : s + ' '.repeat(n - s.length);
}

const sec = (t: number): string => `${Math.round(t * 100) / 100}s`;

export function timelineLines(m: TimingModel): string[] {
  const G = m.graceSeconds;
  const containers = planContainers(m);
  const plan = planTermination(G, containers);
  const proxyName = m.proxyName ?? PROXY_CONTAINER;
  const autoMax = m.proxyWaitAutoMaxSeconds;
  const end = Math.max(G, 1, ...plan.map((p) => Math.max(p.exitAt, p.killAt ?? 0, p.hookEnd ?? 0)));
  const col = (t: number): number => Math.min(WIDTH, Math.round((t / end) * WIDTH));
  const blank = (): string[] => Array.from({ length: WIDTH + 1 }, () => ' ');
  const fill = (cells: string[], from: number, to: number, ch: string): void => {
    for (let i = col(from); i < col(to); i++) cells[i] = ch;
  };
  const rows: Row[] = [];
  const killNote = (p: PlanResult): string => (p.killAt === null ? '' : `, SIGKILL at ${sec(p.killAt)}`);
  const hookNote = (p: PlanResult, what: string): string =>
    (p.hookAbandoned ? `${what} abandoned at ${G}s (grace period): TERM at ${G}s, 2 s before SIGKILL` : `${what}, TERM at ${sec(p.termAt)}`);
  const draw = (p: PlanResult, stopCh: string): string[] => {
    const cells = blank();
    if (p.hookEnd !== null) fill(cells, 0, p.hookEnd, '=');
    fill(cells, p.hookEnd ?? 0, p.termAt, '.');
    fill(cells, p.termAt, p.exitAt, stopCh);
    cells[col(p.termAt)] = 'T';
    if (p.killAt !== null) cells[col(p.killAt)] = 'X';
    return cells;
  };

  for (const [i, app] of m.apps.entries()) {
    const p = plan[i]!;
    const cells = draw(p, '=');
    let note: string;
    const pre = app.preStop;
    if (pre.kind === 'sleep') note = hookNote(p, `preStop sleep ${pre.seconds}s`);
    else if (pre.kind === 'wait-quiet') {
      note = p.hookAbandoned ? hookNote(p, `preStop /wait-quiet <= ${pre.seconds}s`) + ' if traffic never stops'
        : `preStop /wait-quiet until inbound is quiet, TERM by ${sec(p.termAt)}`;
    } else if (pre.kind === 'other') {
      cells[0] = '?';
      note = `preStop ${pre.shape} (length unknown), then TERM`;
    } else note = 'no preStop: TERM at 0s';
    rows.push({ label: app.name, cells, note: note + killNote(p) });
  }

  for (const p of plan.slice(m.apps.length)) {
    const isProxy = p.name === proxyName;
    const cells = draw(p, isProxy ? '~' : '=');
    let note: string;
    if (!isProxy) {
      note = `native sidecar: ${p.hookEnd !== null ? `preStop until ${sec(p.hookEnd)}, ` : ''}TERM at ${sec(p.termAt)}${p.turnAt !== null ? ' (its turn, reverse order)' : ''}`;
    } else {
      const parts: string[] = [];
      if (p.hookEnd !== null && p.hookEnd > 0) parts.push(p.hookAbandoned ? `preStop wait ${m.proxyPreStopSeconds ?? m.proxyWaitSeconds}s abandoned at ${G}s` : `wait ${sec(p.hookEnd)} (preStop)`);
      if (m.mode === 'native') {
        parts.push(p.turnAt !== null ? `native: TERM once the app has exited, at ${sec(p.termAt)}` : `TERM at ${sec(p.termAt)}`);
      } else parts.push(`${p.hookEnd === null || p.hookEnd === 0 ? 'no wait, ' : ''}TERM at ${sec(p.termAt)}`);
      const after = m.proxyWaitSeconds - (m.proxyPreStopSeconds ?? m.proxyWaitSeconds);
      if (after > 0 && !m.proxyExitsAtDrainEnd) parts.push(`waits ${after}s`);
      if (autoMax !== undefined && !m.proxyExitsAtDrainEnd) parts.push(`auto wait <= ${autoMax}s`);
      const withdraw = m.proxyExitsAtDrainEnd ? 0 : m.proxyWithdrawSeconds ?? 0;
      if (withdraw > 0) parts.push(`withdrawing <= ${withdraw}s (/ready 503, still accepting)`);
      const drainFrom = p.termAt + (m.proxyExitsAtDrainEnd ? 0 : after + (autoMax ?? 0) + withdraw);
      const drain = Math.max(0, Math.min(m.drainTimeoutSeconds, p.termAt + p.stopGraceSeconds - drainFrom));
      parts.push(drainFrom >= p.termAt + p.stopGraceSeconds ? 'killed before draining' : `drain <= ${sec(drain)}`);
      note = parts.join(', ') + killNote(p);
      if (drainFrom > p.termAt) fill(cells, p.termAt + 0.0001, Math.min(drainFrom, p.exitAt), '=');
      cells[col(p.termAt)] = 'T';
      if (p.killAt !== null) cells[col(p.killAt)] = 'X';
    }
    rows.push({ label: p.name, cells, note });
  }

  const deadline = blank();
  deadline[col(G)] = '|';
  const source = m.graceOverridden ? '--grace-period, a deletion\'s override' : `terminationGracePeriodSeconds${m.graceDefaulted ? ', default' : ''}`;
  rows.push({ label: 'kubelet', cells: deadline, note: `grace period ${G}s (${source}); a hook still running then is abandoned, and TERM comes at least 2 s before SIGKILL` });

  const axis = blank().map((_, i) => (i === 0 || i === WIDTH ? '|' : i % Math.round(WIDTH / 4) === 0 ? '+' : '-'));
  const ticks = blank();
  const put = (t: number, text: string): void => {
    const at = Math.min(col(t), WIDTH + 1 - text.length);
    for (let i = 0; i < text.length; i++) ticks[at + i] = text[i]!;
  };
  put(0, '0s');
  put(end, sec(end));
  return [
    `  ${pad('', LABEL)}${ticks.join('')}`,
    `  ${pad('', LABEL)}${axis.join('')}`,
    ...rows.map((r) => `  ${pad(r.label, LABEL)}${r.cells.join('')}  ${r.note}`),
    `  ${pad('', LABEL)}= preStop/wait  T TERM  ~ drain  . waiting for its turn  ? unknown  X SIGKILL  | grace deadline`,
  ];
}
