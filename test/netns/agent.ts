/**
 * Small programs the namespace tests run inside their namespaces (the test process itself stays in
 * the host namespace). Usage: node agent.js <role> …
 *
 *   server PORT NAME      HTTP server: every answer is JSON {server, peer, path}
 *   app PORT REMOTE_URL   the pod's app: GET /hello answers {app, peer}; GET /call calls REMOTE_URL
 *                         (a new connection each time) and answers with what came back. With
 *                         CALL_EVERY_MS set it also calls REMOTE_URL in a loop and prints one JSON
 *                         line per call on stdout: {t, ok, status?, err?}. TERM: stop and exit.
 *   get URL               one GET; prints {status, body} or {error} and exits 0
 *   greeter PORT          TCP server that speaks first: a greeting line on every connection
 *   first-line HOST PORT  connects, sends nothing, prints {line} (the server's first line) or {error}
 */
import http from 'node:http';
import net from 'node:net';

const [role, ...args] = process.argv.slice(2);

function get(url: string, timeoutMs = 5_000): Promise<{ status: number; body: string; proxyError?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      const proxyError = res.headers['ebb-proxy-error'] as string | undefined;
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(proxyError ? { proxyError } : {}) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

if (role === 'server') {
  const [port, name] = args;
  // Dual-stack; IPv4 peers are shown without the ::ffff: prefix.
  http.createServer((req, res) => json(res, 200, { server: name, peer: req.socket.remoteAddress?.replace(/^::ffff:/, ''), path: req.url }))
    .listen(Number(port), '::', () => console.log('ready'));
} else if (role === 'app') {
  const [port, remote] = args;
  let stopped = false;
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/fetch?url=')) {
      // The app's view of any outbound call: status and the proxy's error header, if any.
      get(decodeURIComponent(req.url.slice('/fetch?url='.length))).then((r) => json(res, 200, { status: r.status, proxyError: r.proxyError ?? null }),
        (err: Error) => json(res, 200, { err: err.message }));
      return;
    }
    if (req.url === '/call' || req.url === '/call6') {
      get(req.url === '/call6' ? process.env.REMOTE6_URL! : remote!).then((r) => json(res, 200, { app: 'called', remote: JSON.parse(r.body) as unknown }),
        (err: Error) => json(res, 502, { app: 'call failed', err: err.message }));
      return;
    }
    json(res, 200, { app: 'ok', peer: req.socket.remoteAddress });
  }).listen(Number(port), '0.0.0.0', () => console.log(JSON.stringify({ ready: true })));
  const every = Number(process.env.CALL_EVERY_MS ?? 0);
  if (every > 0) {
    const loop = async (): Promise<void> => {
      while (!stopped) {
        const t = Date.now();
        try {
          const r = await get(remote!, 3_000);
          console.log(JSON.stringify({ t, ok: r.status === 200, status: r.status }));
        } catch (err) {
          console.log(JSON.stringify({ t, ok: false, err: (err as Error).message }));
        }
        await new Promise((r) => setTimeout(r, every));
      }
    };
    void loop();
  }
  process.on('SIGTERM', () => {
    stopped = true;
    server.close();
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 50);
  });
} else if (role === 'greeter') {
  // A server-speaks-first service (as MySQL): a greeting line at once, before the client says anything.
  net.createServer((s) => { s.end('greeting from the server\n'); s.on('error', () => {}); })
    .listen(Number(args[0]), '0.0.0.0', () => console.log('ready'));
} else if (role === 'first-line') {
  // Connects, sends nothing, prints the first line the server sent: {line} or {error}.
  const s = net.connect({ host: args[0]!, port: Number(args[1]) });
  let buf = '';
  s.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    if (buf.includes('\n')) { console.log(JSON.stringify({ line: buf.split('\n')[0] })); s.destroy(); }
  });
  s.on('error', (e) => console.log(JSON.stringify({ error: e.message })));
  s.setTimeout(10_000, () => { console.log(JSON.stringify({ error: 'timeout' })); s.destroy(); });
} else if (role === 'get') {
  get(args[0]!).then((r) => console.log(JSON.stringify(r)), (err: Error) => console.log(JSON.stringify({ error: err.message })));
} else {
  console.error(`agent: unknown role ${role}`);
  process.exit(2);
}
