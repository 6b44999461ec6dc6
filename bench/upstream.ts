// The bench's own upstream: the "app" every proxy forwards to. One process, three listeners on
// 127.0.0.1 with ports chosen by the kernel, printed as one JSON line on stdout:
//   http  — node:http, keep-alive, a small fixed response (the HTTP/1.1 and opaque-TCP target)
//   h2c   — node:http2 cleartext (prior knowledge), the same response (the HTTP/2 target)
//   echo  — a TCP echo: every byte written comes back (the bulk TCP target)
import { createServer as createHttpServer } from 'node:http';
import { createServer as createH2Server } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';

const BODY = Buffer.from('hello from the ebb bench upstream\n');

const http = createHttpServer((req, res) => {
  // Drain any request body so the socket can be reused; respond at once.
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
// Proxies keep pooled upstream sockets; Node's 5 s default would close them under their feet.
http.keepAliveTimeout = 120_000;
http.headersTimeout = 121_000;
http.requestTimeout = 0;

const h2c = createH2Server({ settings: { maxConcurrentStreams: 1000 } });
h2c.on('stream', (stream) => {
  stream.on('error', () => { /* client went away */ });
  stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': BODY.length });
  stream.end(BODY);
  stream.resume();
});
h2c.on('sessionError', () => { /* client went away */ });

const echo = createTcpServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

const ports = { http: await listen(http), h2c: await listen(h2c as unknown as Server), echo: await listen(echo) };
process.stdout.write(JSON.stringify(ports) + '\n');
process.on('SIGTERM', () => process.exit(0));
