/**
 * When the kubelet learns that a container exited on its own. The generic PLEG
 * (pkg/kubelet/pleg/generic.go) lists the runtime's containers every relist period — 1 s
 * (plegRelistPeriod in pkg/kubelet/kubelet.go) — and turns the differences into events; the pod
 * worker reacts to an exit only then: a Job pod's native sidecars are stopped, a pod's phase and
 * its Ready (hence its endpoint's `serving`) condition change. So the kubelet reacts up to one
 * period after the exit, never at once. (An exit the kubelet caused itself, StopContainer during a
 * kill, is known when that call returns: no relist is involved there.)
 *
 * Relists are modelled at origin + k·period on the lab's clock (origin: when the model was made,
 * the kubelet's start); period 0 is a kubelet that learns of every exit at once.
 */
import { type Clock, realClock, sleep } from './clock.js';

/** The kubelet's generic PLEG relist period, in seconds. */
export const DEFAULT_PLEG_PERIOD_SECONDS = 1;

export class Pleg {
  /** clock.now() at the first relist slot. */
  readonly origin: number;

  constructor(readonly periodMs: number, private readonly clock: Clock = realClock) {
    this.origin = clock.now();
  }

  /** The first relist strictly after `at` (a clock.now() time); `at` itself when the period is 0. */
  relistAfter(at: number): number {
    if (this.periodMs <= 0) return at;
    return this.origin + (Math.floor((at - this.origin) / this.periodMs) + 1) * this.periodMs;
  }

  /**
   * Waits for `exited`, then for the relist that finds it; resolves with both times (clock.now()
   * values: the modelled delay is seenAt − exitAt, whatever the timers did).
   */
  async seen(exited: Promise<unknown>): Promise<{ exitAt: number; seenAt: number }> {
    await exited;
    const exitAt = this.clock.now();
    const seenAt = this.relistAfter(exitAt);
    await sleep(this.clock, seenAt - exitAt);
    return { exitAt, seenAt };
  }
}
