import type { Parsed } from '../config/values.js';
import { performance } from 'node:perf_hooks';
import type { ActivityClock } from './activity.js';

/**
 * The waiting phase (`--wait-before-exit`): how long the proxy keeps serving as normal after a
 * trigger, before it stops accepting. This is pluggable: `fixed` waits N seconds; `auto` (issue 4)
 * watches the inbound activity clock and ends the phase after a quiet period.
 *
 * To add a strategy: extend `WaitSpec`, teach `parseWaitBeforeExit` its syntax and
 * `createWaitingStrategy` how to build it. Nothing else in the drain needs to change.
 */
export type WaitSpec =
  | { readonly mode: 'fixed'; readonly seconds: number }
  /** Serve until no new inbound connection or request for quietSeconds, within [minSeconds, maxSeconds]. */
  | { readonly mode: 'auto'; readonly minSeconds: number; readonly quietSeconds: number; readonly maxSeconds: number };

/** `auto` alone means auto:2:2:25. */
export const AUTO_DEFAULTS = Object.freeze({ minSeconds: 2, quietSeconds: 2, maxSeconds: 25 });

export interface WaitingContext {
  /** Time of the last new inbound connection or request (see ActivityClock). */
  readonly activity: ActivityClock;
  /** Aborted if the waiting phase is cut short (e.g. the process is torn down). */
  readonly signal: AbortSignal;
}

export interface WaitingStrategy {
  readonly spec: WaitSpec;
  /** Resolves when the waiting phase should end, with a short reason for the logs ("elapsed"). */
  wait(ctx: WaitingContext): Promise<string>;
}

export function parseWaitBeforeExit(raw: string): Parsed<WaitSpec> {
  const s = raw.trim();
  const n = Number(s);
  if (s !== '' && Number.isFinite(n) && n >= 0) return { ok: true, value: { mode: 'fixed', seconds: n } };
  if (s === 'auto') return { ok: true, value: { mode: 'auto', ...AUTO_DEFAULTS } };
  const m = /^auto:([^:]*):([^:]*):([^:]*)$/.exec(s);
  if (m) {
    const [min, quiet, max] = [m[1]!, m[2]!, m[3]!].map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (![min, quiet, max].every((x) => Number.isFinite(x) && x! >= 0)) return { ok: false, problem: `"${raw}": MIN, QUIET and MAX must be seconds >= 0` };
    if (quiet! <= 0) return { ok: false, problem: `"${raw}": QUIET must be > 0` };
    if (min! > max!) return { ok: false, problem: `"${raw}": MIN must not be more than MAX` };
    return { ok: true, value: { mode: 'auto', minSeconds: min!, quietSeconds: quiet!, maxSeconds: max! } };
  }
  return { ok: false, problem: `"${raw}" is neither a number of seconds >= 0 nor auto[:MIN:QUIET:MAX]` };
}

export function createWaitingStrategy(spec: WaitSpec): WaitingStrategy {
  return spec.mode === 'auto' ? autoWait(spec) : fixedWait(spec);
}

/**
 * Resolves once `now` is at least `min` ms after `start` and the activity clock has been quiet
 * for `quiet` ms ("quiet"), or at `max` ms after start ("max"), or on abort. Shared by the auto
 * waiting phase and GET /wait-quiet. Re-checks at the earliest moment the answer can change, so it
 * costs one timer, not a poll loop.
 */
export function waitForQuiet(activity: ActivityClock, o: { minMs: number; quietMs: number; maxMs: number; signal?: AbortSignal }): Promise<'quiet' | 'max' | 'aborted'> {
  const start = performance.now();
  return new Promise((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (r: 'quiet' | 'max' | 'aborted'): void => {
      if (timer) clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => done('aborted');
    const check = (): void => {
      const now = performance.now();
      const elapsed = now - start;
      const quiet = activity.quietMs(now);
      if (elapsed >= o.minMs && quiet >= o.quietMs) return done('quiet');
      if (elapsed >= o.maxMs) return done('max');
      const next = Math.min(Math.max(o.minMs - elapsed, o.quietMs - quiet, 0), o.maxMs - elapsed);
      timer = setTimeout(check, Math.max(5, next));
    };
    if (o.signal?.aborted) return done('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

function autoWait(spec: WaitSpec & { mode: 'auto' }): WaitingStrategy {
  return {
    spec,
    wait({ activity, signal }) {
      return waitForQuiet(activity, { minMs: spec.minSeconds * 1000, quietMs: spec.quietSeconds * 1000, maxMs: spec.maxSeconds * 1000, signal })
        .then((r) => (r === 'quiet' ? `quiet for ${spec.quietSeconds}s` : r === 'max' ? `max ${spec.maxSeconds}s reached` : 'aborted'));
    },
  };
}

function fixedWait(spec: WaitSpec & { mode: 'fixed' }): WaitingStrategy {
  return {
    spec,
    wait({ signal }) {
      if (spec.seconds === 0) return Promise.resolve('elapsed');
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve('elapsed'), spec.seconds * 1000);
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve('aborted'); }, { once: true });
      });
    },
  };
}
