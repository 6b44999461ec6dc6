import type { Registry } from 'prom-client';
import { PHASES, type Drain } from '../drain/index.js';
import type { BufferBudget, ConnectionLimit } from '../proxy/budget.js';

/**
 * Metrics definitions. The hot path only bumps numbers in typed arrays (`requestDone`); they are
 * turned into Prometheus series at scrape time, so a request costs no label hashing or allocation.
 * Gauges that mirror state (in flight, connections, phase) are read from the Drain when scraped.
 * prom-client itself is loaded at the first scrape (`registry()`): a proxy nobody scrapes does not
 * carry it in memory.
 */
export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = typeof DIRECTIONS[number];
export const PROTOCOLS = ['http1', 'http2', 'grpc'] as const;
export type Protocol = typeof PROTOCOLS[number];
export const DIR_INBOUND = 0;
export const DIR_OUTBOUND = 1;
export const PROTO_HTTP1 = 0;
export const PROTO_HTTP2 = 1;
export const PROTO_GRPC = 2;
/** status_class label values; index 0 = the request ended without a response status. */
const STATUS_CLASSES = ['error', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const NP = PROTOCOLS.length;
const NS = STATUS_CLASSES.length;
const NB = BUCKETS.length + 1; // + Inf

interface MetricValue { labels: Record<string, string | number>; value: number; metricName?: string }

/** A metric computed at scrape time, in the shape prom-client's Registry renders. */
class ScrapedMetric {
  constructor(readonly name: string, readonly help: string, readonly type: 'counter' | 'histogram',
    private readonly values: () => MetricValue[]) {}
  get(): { name: string; help: string; type: string; values: MetricValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: 'sum' };
  }
}

export class ProxyMetrics {
  private registryPromise: Promise<Registry> | null = null;
  private readonly requests = new Float64Array(DIRECTIONS.length * NP * NS);
  private readonly buckets = new Float64Array(DIRECTIONS.length * NP * NB);
  private readonly sums = new Float64Array(DIRECTIONS.length * NP);
  private readonly counts = new Float64Array(DIRECTIONS.length * NP);
  private readonly connections = new Float64Array(DIRECTIONS.length * 4);
  /** Drains whose "direction:protocol" handles are open connections: the proxy's, and the outbound listener's own. */
  private readonly connectionDrains: Drain[];

  private budget: { bytes: BufferBudget; connections: ConnectionLimit } | null = null;

  constructor(private readonly drain: Drain) {
    this.connectionDrains = [drain];
  }

  /** The process-wide bounds (src/proxy/budget.ts), read at scrape time. */
  watchBudget(bytes: BufferBudget, connections: ConnectionLimit): void {
    this.budget = { bytes, connections };
  }

  /** Counts another drain's connection handles in ebb_open_connections (the outbound listener has its own drain). */
  addConnectionDrain(d: Drain): void {
    this.connectionDrains.push(d);
  }

  /** The prom-client registry with every ebb metric, built on first use. */
  registry(): Promise<Registry> {
    this.registryPromise ??= import('prom-client').then((prom) => this.build(prom));
    return this.registryPromise;
  }

  private build({ Registry, Gauge, Counter }: typeof import('prom-client')): Registry {
    const drain = this.drain;
    const connectionDrains = this.connectionDrains;
    const r = new Registry();
    r.registerMetric(new ScrapedMetric('ebb_requests_total', 'Requests proxied, by direction, protocol and response status class', 'counter', () => {
      const out: MetricValue[] = [];
      for (let d = 0; d < DIRECTIONS.length; d++) for (let p = 0; p < NP; p++) for (let s = 0; s < NS; s++) {
        const v = this.requests[(d * NP + p) * NS + s]!;
        if (v > 0) out.push({ labels: { direction: DIRECTIONS[d]!, protocol: PROTOCOLS[p]!, status_class: STATUS_CLASSES[s]! }, value: v });
      }
      return out;
    }) as never);
    r.registerMetric(new ScrapedMetric('ebb_request_duration_seconds', 'Time from request start to the end of the response', 'histogram', () => {
      const out: MetricValue[] = [];
      for (let d = 0; d < DIRECTIONS.length; d++) for (let p = 0; p < NP; p++) {
        const i = d * NP + p;
        if (this.counts[i] === 0) continue;
        const labels = { direction: DIRECTIONS[d]!, protocol: PROTOCOLS[p]! };
        let acc = 0;
        for (let b = 0; b < NB; b++) {
          acc += this.buckets[i * NB + b]!;
          out.push({ metricName: 'ebb_request_duration_seconds_bucket', labels: { ...labels, le: b < BUCKETS.length ? BUCKETS[b]! : '+Inf' }, value: acc });
        }
        out.push({ metricName: 'ebb_request_duration_seconds_sum', labels, value: this.sums[i]! });
        out.push({ metricName: 'ebb_request_duration_seconds_count', labels, value: this.counts[i]! });
      }
      return out;
    }) as never);
    r.registerMetric(new ScrapedMetric('ebb_connections_total', 'Connections accepted, by direction and detected protocol', 'counter', () => {
      const out: MetricValue[] = [];
      for (let d = 0; d < DIRECTIONS.length; d++) for (let p = 0; p < 4; p++) {
        const v = this.connections[d * 4 + p]!;
        if (v > 0) out.push({ labels: { direction: DIRECTIONS[d]!, protocol: CONN_PROTOCOLS[p]! }, value: v });
      }
      return out;
    }) as never);
    new Gauge({ name: 'ebb_requests_in_flight', help: 'Requests (HTTP/1 requests, HTTP/2 streams) in flight', registers: [r],
      collect() { this.set(drain.requestsInFlight); } });
    new Gauge({ name: 'ebb_open_connections', help: 'Open connections by direction and protocol ("detecting" = protocol not known yet)',
      labelNames: ['direction', 'protocol'], registers: [r],
      collect() {
        this.reset();
        for (const d of connectionDrains) {
          for (const [kind, n] of Object.entries(d.inFlight().handles)) {
            const [direction, protocol] = kind.split(':');
            if (protocol) this.inc({ direction, protocol }, n);
          }
        }
      } });
    new Gauge({ name: 'ebb_shutdown_phase', help: 'Current shutdown phase (1 for the current one)', labelNames: ['phase'], registers: [r],
      collect() { for (const p of PHASES) this.set({ phase: p }, drain.phase === p ? 1 : 0); } });
    new Counter({ name: 'ebb_requests_served_while_waiting_total', help: 'Requests started during the waiting phase', registers: [r],
      collect() { this.reset(); this.inc(drain.servedWhileWaiting); } });
    new Counter({ name: 'ebb_forced_closes_total', help: 'Connections closed by force at the drain deadline', registers: [r],
      collect() { this.reset(); this.inc(drain.forcedCloses); } });
    new Gauge({ name: 'ebb_inbound_quiet_seconds', help: 'Seconds since the last new inbound connection or request (-1 if none yet); the auto wait and /wait-quiet watch it', registers: [r],
      collect() { const q = drain.activity.quietMs(); this.set(Number.isFinite(q) ? q / 1000 : -1); } });
    const budget = (): { bytes: BufferBudget; connections: ConnectionLimit } | null => this.budget;
    new Gauge({ name: 'ebb_buffered_bytes', help: 'Bytes held for clients: taken from the app, not yet taken by the client (--max-buffered-bytes)', registers: [r],
      collect() { this.set(budget()?.bytes.used ?? 0); } });
    new Gauge({ name: 'ebb_buffered_bytes_max', help: 'The highest ebb_buffered_bytes since the proxy started', registers: [r],
      collect() { this.set(budget()?.bytes.max ?? 0); } });
    new Gauge({ name: 'ebb_buffer_budget_bytes', help: 'The budget for bytes held for clients (--max-buffered-bytes)', registers: [r],
      collect() { this.set(budget()?.bytes.limit ?? 0); } });
    new Counter({ name: 'ebb_buffer_budget_closed_connections_total', help: 'Client connections closed because the bytes held for clients reached --max-buffered-bytes (the ones holding the most)', registers: [r],
      collect() { this.reset(); this.inc(budget()?.bytes.evictions ?? 0); } });
    new Counter({ name: 'ebb_buffer_budget_throttled_chunks_total', help: 'Response chunks written one at a time (app side paused until the client took the previous one) because the budget was under pressure', registers: [r],
      collect() { this.reset(); this.inc(budget()?.bytes.throttledChunks ?? 0); } });
    new Gauge({ name: 'ebb_client_connections', help: 'Inbound client connections open, counted against --max-connections', registers: [r],
      collect() { this.set(budget()?.connections.open ?? 0); } });
    new Counter({ name: 'ebb_connections_refused_total', help: 'Inbound client connections closed at accept because --max-connections were open', registers: [r],
      collect() { this.reset(); this.inc(budget()?.connections.refused ?? 0); } });
    new Gauge({ name: 'ebb_drain_duration_seconds', help: 'Time spent draining so far (0 before draining starts)', registers: [r],
      collect() { this.set((drain.phaseMs('draining') ?? 0) / 1000); } });
    return r;
  }

  /** Hot path: one finished request. `status` 0 = no response status (aborted, reset). */
  requestDone(direction: number, protocol: number, status: number, seconds: number): void {
    const i = direction * NP + protocol;
    const cls = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    this.requests[i * NS + cls]++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    this.buckets[i * NB + b]++;
    this.sums[i] += seconds;
    this.counts[i]++;
  }

  /** A connection whose protocol was detected (or forced). */
  connectionAccepted(direction: number, protocol: ConnProtocol): void {
    this.connections[direction * 4 + CONN_PROTOCOLS.indexOf(protocol)]++;
  }
}

export const CONN_PROTOCOLS = ['http1', 'http2', 'tcp', 'tcp-opaque'] as const;
export type ConnProtocol = typeof CONN_PROTOCOLS[number];
