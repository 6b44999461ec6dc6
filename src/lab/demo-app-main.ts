#!/usr/bin/env node
/**
 * The demo app as its own process (the lab runs it as a pod's app container):
 *   node demo-app-main.js [--port N] [--host ADDR] [--latency SPEC] [--seed N] [--name NAME]
 *                         [--call-url URL --call-every-ms MS]
 * Prints one JSON line {"msg":"listening","port":N} on stdout once bound; TERM stops it gracefully.
 * With --call-url it also calls URL every MS milliseconds, as an app calling another service does,
 * from start until it exits (also while stopping), each call on a new connection, and prints one
 * JSON line per call: {"msg":"outbound","start":ms,"end":ms,"ok":bool,"status"?,"error"?} (epoch ms).
 */
import { parseArgs } from 'node:util';
import { startDemoApp, startOutboundCalls, DEFAULT_LATENCY } from './demo-app.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'call-url': { type: 'string' },
    'call-every-ms': { type: 'string', default: '50' },
    latency: { type: 'string', default: DEFAULT_LATENCY },
    seed: { type: 'string', default: '1' },
    name: { type: 'string', default: 'demo' },
  },
});

const app = await startDemoApp({ port: Number(values.port), host: values.host, latency: values.latency, seed: Number(values.seed), name: values.name });
process.stdout.write(`${JSON.stringify({ msg: 'listening', port: app.port })}\n`);
if (values['call-url']) {
  startOutboundCalls(values['call-url'], Number(values['call-every-ms']), (c) => process.stdout.write(`${JSON.stringify({ msg: 'outbound', ...c })}\n`));
}
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void app.close().then(() => process.exit(0));
  });
}
