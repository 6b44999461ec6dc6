// The minimal node:http + undici reverse proxy the bench compares ebb against: what a Node
// engineer would write in an afternoon. No error mapping beyond a 502, no drain, no metrics.
//   node dist/bench/peers/undici-proxy.js LISTEN_PORT UPSTREAM_PORT
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128, pipelining: 1 });

// RFC 9110 §7.6.1 hop-by-hop headers; undici also refuses some of them in requests.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

function strip(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { method: req.method as 'GET', path: req.url ?? '/', headers: strip(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, strip(headers));
      return res;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) { res.writeHead(502); res.end(); } else res.destroy(err);
    },
  );
});
server.keepAliveTimeout = 120_000;
server.listen(listenPort, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
