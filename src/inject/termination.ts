/**
 * The kubelet's termination arithmetic, as a pure function of a pod's containers: when each one
 * gets its stop signal, when it is killed, when it is gone. `ebb check`'s timeline is drawn from
 * it, and the lab's kubelet simulator (src/lab/kubelet.ts) runs the same rules against real
 * processes; test/lab/check-timeline-equals-the-lab-kubelet.test.ts proves the two agree.
 *
 * From pkg/kubelet/kuberuntime/kuberuntime_container.go, killContainer (1.29–1.35):
 * - gracePeriod is the pod's terminationGracePeriodSeconds, or the deletion's override
 *   (`kubectl delete --grace-period`, an eviction's, node shutdown's): DeletionGracePeriodSeconds;
 * - with a preStop hook and gracePeriod > 0, executePreStopHook waits for the hook at most
 *   gracePeriod seconds (a hook still running then is abandoned, not killed) and gracePeriod -=
 *   the whole seconds it took (int64 of a float: truncation);
 * - native sidecars (KEP-753, restartable init containers): then waitForTurn, at most the
 *   remaining grace: every regular container and every sidecar declared after this one has
 *   exited (kuberuntime_termination_order.go); gracePeriod -= the whole seconds waited. A
 *   sidecar's own preStop therefore runs from t0 like every other one;
 * - gracePeriod < minimumGracePeriodInSeconds (2) is raised to 2: the documented one-off 2 s
 *   extension, so a container whose hook ran to the deadline G still gets its stop signal at G
 *   and is killed at G + 2;
 * - StopContainer(gracePeriod): the runtime sends the stop signal (lifecycle.stopSignal, KEP-4960;
 *   else the image's STOPSIGNAL; else SIGTERM), then SIGKILL after gracePeriod.
 */

import { PROXY_CONTAINER } from './sidecar.js';
import type { PreStop, TimingModel } from './types.js';

/** pkg/kubelet/kuberuntime: minimumGracePeriodInSeconds. */
export const MINIMUM_GRACE_SECONDS = 2;

/** What the plan needs to know of one container. Times in seconds. */
export interface PlanContainer {
  readonly name: string;
  /** A native sidecar: an init container with restartPolicy: Always. */
  readonly sidecar: boolean;
  /** How long its preStop hook runs (at most: a /wait-quiet's max=), or null without one. */
  readonly hookSeconds: number | null;
  /** From its stop signal to its exit, if nobody kills it first (its drain, at most). */
  readonly stopSeconds: number;
}

export interface PlanResult {
  readonly name: string;
  readonly sidecar: boolean;
  /** When its preStop ended (null: none); `abandoned` when the grace period ran out first. */
  readonly hookEnd: number | null;
  readonly hookAbandoned: boolean;
  /** When a native sidecar's turn came (null: it had nothing to wait for). */
  readonly turnAt: number | null;
  /** Stop signal, and the grace StopContainer got (whole seconds, >= 2). */
  readonly termAt: number;
  readonly stopGraceSeconds: number;
  /** SIGKILL (null: it exited in time), and its exit. */
  readonly killAt: number | null;
  readonly exitAt: number;
}

/** The whole seconds the kubelet takes off the grace for an interval (Go's int64(float64)). */
export function wholeSeconds(seconds: number): number {
  return Math.trunc(seconds + 1e-9);
}

/** The grace StopContainer gets: what is left, raised to the 2 s minimum. */
export function stopGrace(left: number): number {
  return Math.max(left, MINIMUM_GRACE_SECONDS);
}

/**
 * The termination of a pod deleted at t0 = 0 with grace period G. A container exits stopSeconds
 * after its stop signal, or is killed when its stop grace is up, whichever comes first (a tie is
 * an exit: the lab's processes and fakes resolve the exit first).
 */
export function planTermination(graceSeconds: number, containers: readonly PlanContainer[]): PlanResult[] {
  const G = graceSeconds;
  const out = new Map<string, PlanResult>();
  const stop = (c: PlanContainer, hookEnd: number | null, abandoned: boolean, turnAt: number | null, termAt: number, left: number): PlanResult => {
    const grace = stopGrace(left);
    const killed = c.stopSeconds > grace;
    const r: PlanResult = {
      name: c.name, sidecar: c.sidecar, hookEnd, hookAbandoned: abandoned, turnAt, termAt, stopGraceSeconds: grace,
      killAt: killed ? termAt + grace : null, exitAt: termAt + Math.min(c.stopSeconds, grace),
    };
    out.set(c.name, r);
    return r;
  };
  const hook = (c: PlanContainer): { end: number | null; abandoned: boolean; left: number } => {
    if (c.hookSeconds === null || G <= 0) return { end: null, abandoned: false, left: G };
    const end = Math.min(c.hookSeconds, G);
    return { end, abandoned: c.hookSeconds > G, left: G - wholeSeconds(end) };
  };
  const regular = containers.filter((c) => !c.sidecar);
  for (const c of regular) {
    const h = hook(c);
    stop(c, h.end, h.abandoned, null, h.end ?? 0, h.left);
  }
  // Sidecars in reverse order: each waits for the regular containers and the sidecars after it.
  const sidecars = containers.filter((c) => c.sidecar);
  const mainsGone = Math.max(0, ...regular.map((c) => out.get(c.name)!.exitAt));
  let laterGone: number | null = null;
  for (const c of [...sidecars].reverse()) {
    const h = hook(c);
    const from = h.end ?? 0;
    let left = h.left;
    let termAt = from;
    let turnAt: number | null = null;
    const hasPrereqs = regular.length > 0 || laterGone !== null;
    if (hasPrereqs && left > 0) {
      const ready = Math.max(regular.length > 0 ? mainsGone : 0, laterGone ?? 0);
      turnAt = Math.min(Math.max(ready, from), from + left);
      left -= wholeSeconds(turnAt - from);
      termAt = turnAt;
    }
    laterGone = stop(c, h.end, h.abandoned, turnAt, termAt, left).exitAt;
  }
  return containers.map((c) => out.get(c.name)!);
}

// ---------------------------------------------------------------------------------------------
// From `ebb check`'s timing model

/** A preStop's length as the plan counts it: a sleep or /wait-quiet bound; 0 for one of unknown length. */
export function hookSecondsOf(p: PreStop): number | null {
  if (p.kind === 'none') return null;
  return p.kind === 'sleep' || p.kind === 'wait-quiet' ? p.seconds : 0;
}

/**
 * The plan's view of a timing model. The app exits at its stop signal (check cannot know its own
 * shutdown time; the drain after it is the proxy's), the proxy after its waits and its whole drain
 * deadline (its worst case): a fixed EBB_WAIT_BEFORE_EXIT, then the auto wait's MAX, then
 * withdrawing's timeout (EBB_WITHDRAW_TIMEOUT), then the drain.
 */
export function planContainers(m: TimingModel): PlanContainer[] {
  const apps = m.apps.map((a) => ({ name: a.name, sidecar: false, hookSeconds: hookSecondsOf(a.preStop), stopSeconds: 0 }));
  if (m.mode === 'none') return apps;
  const preStop = m.proxyPreStopSeconds ?? m.proxyWaitSeconds;
  const afterTerm = m.proxyExitsAtDrainEnd ? 0 : m.proxyWaitSeconds - preStop + (m.proxyWaitAutoMaxSeconds ?? 0) + (m.proxyWithdrawSeconds ?? 0);
  const proxy: PlanContainer = {
    name: m.proxyName ?? PROXY_CONTAINER, sidecar: m.mode === 'native',
    hookSeconds: m.proxyHasPreStop === false || (m.proxyHasPreStop === undefined && preStop === 0) ? null : preStop,
    stopSeconds: afterTerm + m.drainTimeoutSeconds,
  };
  if (m.mode === 'classic') return [...apps, proxy];
  // Native: every restartable init container in spec order (the proxy among them), after the apps.
  const sidecars = (m.nativeSidecars ?? [{ name: proxy.name, preStop: { kind: 'none' as const }, proxy: true }])
    .map((s) => (s.proxy ? proxy : { name: s.name, sidecar: true, hookSeconds: hookSecondsOf(s.preStop), stopSeconds: 0 }));
  return [...apps, ...sidecars];
}

/** The plan of a timing model, with the grace period it is planned for. */
export function planOf(m: TimingModel): PlanResult[] {
  return planTermination(m.graceSeconds, planContainers(m));
}
