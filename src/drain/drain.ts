import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { ActivityClock } from './activity.js';
import { waitForQuiet, type WaitingStrategy } from './waiting.js';

/**
 * The protocol-free shutdown state machine: running → waiting → withdrawing → draining → exited.
 *
 * Anything that must finish before the process may exit holds a Handle (a connection, a pipe, a
 * listener, the outbound side while the app lives). Protocols decide what "graceful" means by
 * listening for phase changes (`on('draining', …)`); the drain only counts handles, runs the
 * waiting strategy and enforces the deadline, forcing still-held handles closed when it passes.
 */
export type Phase = 'running' | 'waiting' | 'withdrawing' | 'draining' | 'exited';
/** Phases, and 'terminating': the pod is being deleted (the proxy's preStop ran, or any trigger). */
export type DrainEvent = Phase | 'terminating';
export const PHASES: readonly Phase[] = ['running', 'waiting', 'withdrawing', 'draining', 'exited'];

/**
 * Withdrawing (`--withdraw-timeout`): between the end of the wait and draining, /ready answers 503
 * while the listeners keep accepting and everything is served as while terminating (HTTP/1
 * `Connection: close`, HTTP/2 GOAWAY). Kubernetes routes to a terminating pod that is still
 * `serving` when it is a Service's last endpoint (KEP-1669: a scale to zero, a single replica's
 * eviction); a failing readiness probe is the only way to take it out of that fallback, and the
 * kubelet needs periodSeconds x failureThreshold to notice, kube-proxy a moment more. Refusing
 * connects before then refuses clients that have nowhere else to go. The phase ends once no new
 * inbound connection or request came for `quietSeconds` (Kubernetes stopped sending: the pod is
 * withdrawn, or traffic had already moved), or at its timeout; 0 skips it (Linkerd 2.10: the
 * listeners close as soon as the wait ends).
 */
export interface WithdrawOptions { readonly timeoutSeconds: number; readonly quietSeconds: number }

export interface Handle {
  /** Let go; idempotent. The drain completes when the last handle is released. */
  release(): void;
  /** Re-label (e.g. "inbound:detecting" → "inbound:http1" once the protocol is known). */
  setKind(kind: string): void;
}

/** When a registered listener stops accepting. */
export interface ListenerPolicy {
  readonly name: string;
  /** Arrange for `close` to be called at the right moment (and at the latest at the deadline). */
  attach(drain: Drain, close: () => void): void;
}

/** Inbound listeners: stop accepting when draining starts, so a new connect is refused. */
export const closeAtDraining: ListenerPolicy = {
  name: 'close-at-draining',
  attach(drain, close) { drain.on('draining', close); },
};

export interface InFlight { readonly requests: number; readonly handles: Readonly<Record<string, number>> }

export interface DrainSummary {
  readonly reason: string;
  readonly waitEndedBy: string;
  /** How withdrawing ended: "quiet for Ns", "timeout Ns reached", or "skipped" (--withdraw-timeout 0). */
  readonly withdrawEndedBy: string;
  readonly withdrawingMs: number;
  readonly drainEndedBy: 'idle' | 'deadline';
  readonly waitingMs: number;
  readonly drainingMs: number;
  readonly totalMs: number;
  readonly servedWhileWaiting: number;
  readonly inFlightAtTrigger: InFlight;
  readonly inFlightAtDraining: InFlight;
  readonly forcedCloses: number;
}

export interface DrainOptions {
  readonly waiting: WaitingStrategy;
  readonly drainTimeoutSeconds: number;
  /** Withdrawing between waiting and draining; absent or timeout 0: none. */
  readonly withdraw?: WithdrawOptions;
  readonly log: Logger;
}

class HandleImpl implements Handle {
  released = false;
  constructor(private readonly drain: Drain, public kind: string, readonly force: (() => void) | undefined) {}
  setKind(kind: string): void {
    if (!this.released) this.drain.retag(this, kind);
  }
  release(): void {
    if (this.released) return;
    this.released = true;
    this.drain.releaseHandle(this);
  }
}

export class Drain {
  phase: Phase = 'running';
  reason: string | null = null;
  readonly activity = new ActivityClock();
  /** Requests (HTTP/1 requests, HTTP/2 streams) between start and end, all protocols. */
  requestsInFlight = 0;
  /** Requests started during the waiting phase. */
  servedWhileWaiting = 0;
  forcedCloses = 0;
  /** performance.now() when each phase was entered. */
  readonly enteredAt: Record<Phase, number | null> = { running: performance.now(), waiting: null, withdrawing: null, draining: null, exited: null };
  /** Date.now() of the trigger, for /state. */
  triggeredAtEpochMs: number | null = null;
  /**
   * The pod is terminating: told so by the proxy's preStop hook (GET /prestop, at t0) or implied by
   * any trigger. It changes no phase and no deadline; protocols listen (on('terminating')) to tell
   * their clients to leave: HTTP/1 answers with Connection: close, HTTP/2 sends GOAWAY.
   */
  terminating = false;
  /** Why it is terminating (the first notice), and Date.now() of it. */
  terminatingReason: string | null = null;
  terminatingAtEpochMs: number | null = null;
  summary: DrainSummary | null = null;
  /** Resolves once the drain is complete (phase `exited`). */
  readonly exited: Promise<DrainSummary>;

  private readonly handles = new Set<HandleImpl>();
  private readonly kindCounts = new Map<string, number>();
  private readonly listeners: Record<DrainEvent, Array<() => void>> = { running: [], waiting: [], withdrawing: [], draining: [], exited: [], terminating: [] };
  private readonly abort = new AbortController();
  private deadline: NodeJS.Timeout | null = null;
  private waitEndedBy = '';
  private withdrawEndedBy = '';
  private forcing = false;
  private entering = false;
  private inFlightAtTrigger: InFlight = { requests: 0, handles: {} };
  private inFlightAtDraining: InFlight = { requests: 0, handles: {} };
  private resolveExited!: (s: DrainSummary) => void;

  constructor(private readonly opts: DrainOptions) {
    this.exited = new Promise((resolve) => { this.resolveExited = resolve; });
  }

  /**
   * Start shutdown. Returns false (and logs) if it was already started: a second TERM, a TERM
   * after POST /shutdown, … are ignored rather than cutting the drain short.
   */
  trigger(reason: string): boolean {
    if (this.phase !== 'running') {
      this.opts.log.info({ reason, phase: this.phase, firstReason: this.reason }, 'shutdown already in progress; trigger ignored');
      return false;
    }
    this.reason = reason;
    this.triggeredAtEpochMs = Date.now();
    this.notifyTerminating(reason);
    this.inFlightAtTrigger = this.inFlight();
    this.opts.log.info({ reason, waitBeforeExit: this.opts.waiting.spec, withdrawTimeoutSeconds: this.opts.withdraw?.timeoutSeconds ?? 0, drainTimeoutSeconds: this.opts.drainTimeoutSeconds,
      inFlight: this.inFlightAtTrigger }, 'shutdown started');
    this.enter('waiting');
    this.opts.waiting.wait({ activity: this.activity, signal: this.abort.signal }).then(
      (why) => this.startWithdrawing(why),
      (err: unknown) => {
        this.opts.log.error({ err }, 'waiting strategy failed; draining now');
        this.startWithdrawing('error');
      },
    );
    return true;
  }

  /**
   * The pod is terminating (GET /prestop at t0, or a trigger): from now on protocols tell their
   * clients to leave, while everything is served as before. Returns false when already told.
   */
  notifyTerminating(reason: string): boolean {
    if (this.terminating) return false;
    this.terminating = true;
    this.terminatingReason = reason;
    this.terminatingAtEpochMs = Date.now();
    this.opts.log.info({ reason, phase: this.phase }, 'terminating: telling clients to leave (HTTP/1 Connection: close, HTTP/2 GOAWAY)');
    this.fire('terminating');
    return true;
  }

  /**
   * Call `fn` when `event` happens (at once if it already has). Returns an unsubscribe, for
   * short-lived subscribers (the transparent proxy's per-destination routes).
   */
  on(event: DrainEvent, fn: () => void): () => void {
    const happened = event === 'terminating' ? this.terminating : this.enteredAt[event] !== null;
    if (happened) { queueMicrotask(fn); return () => {}; }
    this.listeners[event].push(fn);
    return () => {
      const i = this.listeners[event].indexOf(fn);
      if (i >= 0) this.listeners[event].splice(i, 1);
    };
  }

  /**
   * Hold the drain open until `release()`. `force` is called if the drain deadline passes first
   * (e.g. socket.destroy()); `kind` groups handles in /state and logs ("http1", "tcp", …).
   */
  hold(kind: string, force?: () => void): Handle {
    const h = new HandleImpl(this, kind, force);
    this.handles.add(h);
    this.kindCounts.set(kind, (this.kindCounts.get(kind) ?? 0) + 1);
    return h;
  }

  /** Register a listener: it holds the drain until `policy` closes it (or the deadline does). */
  registerListener(close: () => void, policy: ListenerPolicy = closeAtDraining): void {
    let closed = false;
    const h = this.hold('listener', () => { closed = true; close(); });
    policy.attach(this, () => {
      if (closed) return;
      closed = true;
      close();
      h.release();
    });
  }

  /** New requests are served (running, waiting, withdrawing); from draining on they get a fast 503. */
  get serving(): boolean {
    return this.phase === 'running' || this.phase === 'waiting' || this.phase === 'withdrawing';
  }

  // Hot path: two increments, one clock read, no allocation.
  requestStarted(): void {
    this.requestsInFlight++;
    this.activity.touch();
    if (this.phase === 'waiting') this.servedWhileWaiting++;
  }

  requestFinished(): void {
    this.requestsInFlight--;
  }

  /** A new inbound connection: marks activity for the `auto` waiting strategy. */
  connectionAccepted(): void {
    this.activity.touch();
  }

  inFlight(): InFlight {
    return { requests: this.requestsInFlight, handles: Object.fromEntries([...this.kindCounts].filter(([, n]) => n > 0)) };
  }

  handleCount(kind?: string): number {
    return kind === undefined ? this.handles.size : this.kindCounts.get(kind) ?? 0;
  }

  /** Milliseconds spent in a phase so far (or in total, if it is over). */
  phaseMs(phase: Phase): number | null {
    const i = PHASES.indexOf(phase);
    const start = this.enteredAt[phase];
    if (start === null) return null;
    const next = PHASES[i + 1];
    const end = (next && this.enteredAt[next]) ?? performance.now();
    return Math.round(end - start);
  }

  /** @internal called by Handle.setKind */
  retag(h: HandleImpl, kind: string): void {
    this.kindCounts.set(h.kind, this.kindCounts.get(h.kind)! - 1);
    h.kind = kind;
    this.kindCounts.set(kind, (this.kindCounts.get(kind) ?? 0) + 1);
  }

  /** @internal called by Handle.release */
  releaseHandle(h: HandleImpl): void {
    if (!this.handles.delete(h)) return;
    this.kindCounts.set(h.kind, this.kindCounts.get(h.kind)! - 1);
    if (this.phase === 'draining' && this.handles.size === 0 && !this.forcing && !this.entering) this.finish('idle');
  }

  private enter(phase: Phase): void {
    this.phase = phase;
    this.enteredAt[phase] = performance.now();
    this.fire(phase);
  }

  private fire(event: DrainEvent): void {
    const fns = this.listeners[event];
    this.listeners[event] = [];
    const wasEntering = this.entering;
    this.entering = true;
    for (const fn of fns) {
      try { fn(); } catch (err) { this.opts.log.error({ err, phase: event }, 'phase listener failed'); }
    }
    this.entering = wasEntering;
  }

  /** The wait is over: withdraw (see WithdrawOptions), then drain. */
  private startWithdrawing(why: string): void {
    if (this.phase !== 'waiting') return;
    this.waitEndedBy = why;
    const w = this.opts.withdraw;
    this.enter('withdrawing');
    if (!w || w.timeoutSeconds <= 0 || why === 'error') { this.startDraining('skipped'); return; }
    this.opts.log.info({ waitEndedBy: why, timeoutSeconds: w.timeoutSeconds, quietSeconds: w.quietSeconds },
      'withdrawing: /ready answers 503; still accepting until inbound is quiet');
    void waitForQuiet(this.activity, { minMs: 0, quietMs: w.quietSeconds * 1000, maxMs: w.timeoutSeconds * 1000, signal: this.abort.signal })
      .then((r) => { if (r !== 'aborted') this.startDraining(r === 'quiet' ? `quiet for ${w.quietSeconds}s` : `timeout ${w.timeoutSeconds}s reached`); });
  }

  private startDraining(withdrawEndedBy: string): void {
    if (this.phase !== 'withdrawing') return;
    this.withdrawEndedBy = withdrawEndedBy;
    const why = this.waitEndedBy;
    this.inFlightAtDraining = this.inFlight();
    this.enter('draining');
    // Logged after the phase listeners ran, so whoever reads this line finds the listeners closed.
    this.opts.log.info({ waitEndedBy: why, withdrawEndedBy, servedWhileWaiting: this.servedWhileWaiting, inFlight: this.inFlightAtDraining }, 'draining');
    if (this.handles.size === 0) { this.finish('idle'); return; }
    this.deadline = setTimeout(() => this.forceRest(), this.opts.drainTimeoutSeconds * 1000);
  }

  private forceRest(): void {
    if (this.phase !== 'draining') return;
    const rest = [...this.handles];
    this.forcing = true;
    this.opts.log.warn({ inFlight: this.inFlight() }, 'drain deadline reached; closing the rest by force');
    for (const h of rest) {
      if (h.force) {
        this.forcedCloses++;
        try { h.force(); } catch (err) { this.opts.log.error({ err, kind: h.kind }, 'forced close failed'); }
      }
      h.release();
    }
    this.finish('deadline');
  }

  private finish(how: 'idle' | 'deadline'): void {
    if (this.phase === 'exited') return;
    if (this.deadline) clearTimeout(this.deadline);
    this.abort.abort();
    this.enter('exited');
    const summary: DrainSummary = {
      reason: this.reason ?? 'unknown',
      waitEndedBy: this.waitEndedBy,
      withdrawEndedBy: this.withdrawEndedBy,
      withdrawingMs: this.phaseMs('withdrawing') ?? 0,
      drainEndedBy: how,
      waitingMs: this.phaseMs('waiting') ?? 0,
      drainingMs: this.phaseMs('draining') ?? 0,
      totalMs: Math.round(performance.now() - (this.enteredAt.waiting ?? performance.now())),
      servedWhileWaiting: this.servedWhileWaiting,
      inFlightAtTrigger: this.inFlightAtTrigger,
      inFlightAtDraining: this.inFlightAtDraining,
      forcedCloses: this.forcedCloses,
    };
    this.summary = summary;
    this.opts.log.info(summary, 'shutdown complete');
    this.resolveExited(summary);
  }
}
