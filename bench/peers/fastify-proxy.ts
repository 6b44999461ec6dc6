// @fastify/http-proxy with its defaults (undici to the upstream via @fastify/reply-from), logger off.
//   node dist/bench/peers/fastify-proxy.js LISTEN_PORT UPSTREAM_PORT
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const app = Fastify({ logger: false, keepAliveTimeout: 120_000 });
await app.register(proxy, { upstream: `http://127.0.0.1:${upstreamPort}` });
await app.listen({ port: listenPort, host: '127.0.0.1' });
process.on('SIGTERM', () => process.exit(0));
