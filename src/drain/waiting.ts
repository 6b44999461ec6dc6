import type { Parsed } from '../config/values.js';
import type { ActivityClock } from './activity.js';

/**
 * The waiting phase (`--wait-before-exit`): how long the proxy keeps serving as normal after a
 * trigger, before it stops accepting. This is pluggable: `fixed` waits N seconds; `auto` (issue 4)
 * watches the inbound activity clock and ends the phase after a quiet period.
 *
 * To add a strategy: extend `WaitSpec`, teach `parseWaitBeforeExit` its syntax and
 * `createWaitingStrategy` how to build it. Nothing else in the drain needs to change.
 */
export type WaitSpec = { readonly mode: 'fixed'; readonly seconds: number };

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
  return { ok: false, problem: `"${raw}" is not a number of seconds >= 0` };
}

export function createWaitingStrategy(spec: WaitSpec): WaitingStrategy {
  return fixedWait(spec);
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
