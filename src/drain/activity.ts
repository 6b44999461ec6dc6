import { performance } from 'node:perf_hooks';

/**
 * When the last new inbound connection or request arrived. The hot path only stores a number;
 * the `auto` waiting strategy, GET /state and /wait-quiet read it.
 */
export class ActivityClock {
  /** performance.now() of the last inbound activity; -1 if none yet. */
  lastAt = -1;

  touch(): void {
    this.lastAt = performance.now();
  }

  /** Milliseconds since the last inbound activity (Infinity if there was none). */
  quietMs(now: number = performance.now()): number {
    return this.lastAt < 0 ? Infinity : now - this.lastAt;
  }
}
