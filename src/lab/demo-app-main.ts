#!/usr/bin/env node
/**
 * The demo app as its own process (the lab runs it as a pod's app container):
 *   node demo-app-main.js [--port N] [--latency SPEC] [--seed N] [--name NAME]
 * Prints one JSON line {"msg":"listening","port":N} on stdout once bound; TERM stops it gracefully.
 */
import { parseArgs } from 'node:util';
import { startDemoApp, DEFAULT_LATENCY } from './demo-app.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '0' },
    latency: { type: 'string', default: DEFAULT_LATENCY },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'demo' },
  },
});

const app = await startDemoApp({ port: Number(values.port), latency: values.latency, seed: Number(values.seed), name: values.name });
process.stdout.write(`${JSON.stringify({ msg: 'listening', port: app.port })}\n`);
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void app.close().then(() => process.exit(0));
  });
}
