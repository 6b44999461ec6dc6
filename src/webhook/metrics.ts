import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The webhook's metrics live in their own registry (not prom-client's global one) so that several
 * servers in one process, as in the tests, never share or double-register series.
 */
export interface WebhookMetrics {
  readonly registry: Registry;
  /** Every admission request: outcome (patched|allowed|denied|rejected) and a stable reason code. */
  readonly admissions: Counter<'outcome' | 'reason'>;
  readonly latency: Histogram<'outcome'>;
  readonly tlsReloads: Counter<'result'>;
  readonly namespaceLookups: Counter<'result'>;
}

export function createWebhookMetrics(opts: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    admissions: new Counter({
      name: 'ebb_webhook_admissions_total',
      help: 'Admission reviews answered, by outcome (patched, allowed, denied, rejected) and reason code.',
      labelNames: ['outcome', 'reason'] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'ebb_webhook_admission_duration_seconds',
      help: 'Time from the end of the request body to the response, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    tlsReloads: new Counter({
      name: 'ebb_webhook_tls_reloads_total',
      help: 'Attempts to load a changed TLS certificate/key pair, by result (success, failure).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    namespaceLookups: new Counter({
      name: 'ebb_webhook_namespace_lookups_total',
      help: 'Namespace annotation reads, by result (cached, fetched, stale, failed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}
