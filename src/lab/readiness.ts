/**
 * The kubelet's readiness probes, for one question only: is a terminating pod still `serving`?
 *
 * A terminating endpoint is `ready=false` whatever its probes say; its `serving` condition is what
 * `ready` would be without the termination: every container running and every readiness probe
 * passing. Since KEP-1669 (ProxyTerminatingEndpoints, GA in 1.28) kube-proxy sends traffic to
 * terminating endpoints that are still serving when a Service has no ready endpoint left (the
 * last replica, a scale to zero, externalTrafficPolicy: Local on a node with only this pod). The
 * kubelet keeps probing during termination: a probe fails the container after `failureThreshold`
 * consecutive failures, one every `periodSeconds` (defaults 3 and 10), each bounded by
 * `timeoutSeconds` (default 1).
 */
import { type Clock, realClock } from './clock.js';
import { Pleg } from './pleg.js';
import { hookDestination, HOOK_NOT_SENT, type ContainerDriver, type PodModel, type PreStopAction } from './kubelet.js';

export interface ReadinessProbe {
  container: string;
  action: Extract<PreStopAction, { kind: 'httpGet' }>;
  periodSeconds: number;
  failureThreshold: number;
  timeoutSeconds: number;
}

/** The httpGet readiness probes of a pod's containers (other probe kinds are taken to pass). */
export function readinessProbes(model: PodModel): ReadinessProbe[] {
  const out: ReadinessProbe[] = [];
  for (const c of model.containers) {
    const p = c.spec.readinessProbe as Record<string, unknown> | undefined;
    const get = p?.httpGet as Record<string, unknown> | undefined;
    if (!p || !get) continue;
    const num = (v: unknown, d: number): number => (typeof v === 'number' && v > 0 ? v : d);
    const path = typeof get.path === 'string' ? get.path : '/';
    const port = typeof get.port === 'number' || typeof get.port === 'string' ? get.port : 80;
    out.push({
      container: c.name,
      action: { kind: 'httpGet', path, port, scheme: get.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP', text: `readiness httpGet :${port}${path}`, ...(typeof get.host === 'string' ? { host: get.host } : {}) },
      periodSeconds: num(p.periodSeconds, 10), failureThreshold: num(p.failureThreshold, 3), timeoutSeconds: num(p.timeoutSeconds, 1),
    });
  }
  return out;
}

/**
 * Probes a pod as the kubelet does and tells when it stopped serving: the first probe that made a
 * container unready, or the exit of any container. Bounded: stop() ends every timer.
 */
export class ServingWatch {
  /** clock.now() when the pod stopped serving, or null while it serves. */
  notServingSince: number | null = null;
  /** Why it stopped serving ("ebb-proxy: readiness GET /ready answered 503 …"). */
  why: string | null = null;
  private readonly timers: unknown[] = [];
  private readonly ac = new AbortController();
  private stopped = false;

  /** `pleg`: when the kubelet learns of an exit (its next relist); default: at once. */
  constructor(private readonly model: PodModel, private readonly driver: ContainerDriver, private readonly clock: Clock = realClock,
    private readonly pleg: Pleg = new Pleg(0, clock)) {}

  start(): void {
    for (const c of this.model.containers) {
      // The Ready condition changes when the kubelet has seen the exit, at its next PLEG relist.
      void this.pleg.seen(this.driver.exited(c.name)).then(() => this.notServing(`${c.name} exited`));
    }
    for (const p of readinessProbes(this.model)) this.probeLoop(p, 0);
  }

  stop(): void {
    this.stopped = true;
    this.ac.abort();
    for (const t of this.timers) this.clock.clearTimeout(t);
  }

  private notServing(why: string): void {
    if (this.stopped || this.notServingSince !== null) return;
    this.notServingSince = this.clock.now();
    this.why = why;
  }

  private probeLoop(p: ReadinessProbe, failures: number): void {
    this.timers.push(this.clock.setTimeout(() => {
      if (this.stopped) return;
      const timeout = new AbortController();
      const t = this.clock.setTimeout(() => timeout.abort(), p.timeoutSeconds * 1000);
      const signal = AbortSignal.any([this.ac.signal, timeout.signal]);
      // Where the kubelet sends it (its host, else the pod): a loopback host is the node's, and fails.
      const where = hookDestination(p.action.host, this.driver.host);
      const probe = 'failed' in where ? Promise.resolve({ ok: false, detail: where.failed })
        : 'notSent' in where ? Promise.resolve({ ok: true, detail: `${HOOK_NOT_SENT}: ${where.notSent}; taken as passing` })
        : this.driver.httpGet(p.container, p.action, signal);
      void probe.then((r) => r, (e: Error) => ({ ok: false, detail: e.message })).then((r) => {
        this.clock.clearTimeout(t);
        if (this.stopped) return;
        const n = r.ok ? 0 : failures + 1;
        if (n >= p.failureThreshold) this.notServing(`${p.container}: readiness GET ${p.action.path} failed ${n} time(s) (${r.detail})`);
        this.probeLoop(p, n);
      });
    }, p.periodSeconds * 1000));
  }
}
