// The soak's app: the real process behind `ebb proxy`. One process, four listeners on 127.0.0.1
// with ports chosen by the kernel, printed as one JSON line on stdout:
//   http — node:http, keep-alive: GET / (small body), GET /slow?ms=N, GET /big?kb=N, POST echoes its body
//   h2c  — node:http2 cleartext (prior knowledge), the same routes
//   grpc — @grpc/grpc-js: Echo (unary) and Count (server streaming), JSON messages, no .proto
//   tcp  — a TCP echo: every byte written comes back, half-close carried back
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { BODY, GRPC_SERVICE } from './service.js';


type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

function handle(req: Req, res: Res): void {
  const url = new URL(req.url ?? '/', 'http://app');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => { if (chunks.length < 1024) chunks.push(c); });
  req.on('error', () => { /* client went away */ });
  res.on('error', () => { /* client went away */ });
  req.on('end', () => {
    if (req.method === 'POST') {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
      return;
    }
    if (url.pathname === '/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms') ?? 200), 30_000);
      const t = setTimeout(() => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length }); res.end(BODY); }, ms);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (url.pathname === '/big') {
      const kb = Math.min(Number(url.searchParams.get('kb') ?? 1024), 1024 * 1024);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': kb * 1024 });
      const block = Buffer.alloc(1024, 0x61);
      let left = kb;
      const w = res as ServerResponse; // both response kinds write the same way
      const more = (): void => {
        while (left > 0) {
          left--;
          if (!w.write(block)) { w.once('drain', more); return; }
        }
        res.end();
      };
      more();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
}

const http = createHttpServer(handle);
// The proxy pools app connections; node's 5 s keep-alive default would close them under its feet.
http.keepAliveTimeout = 120_000;
http.headersTimeout = 121_000;
http.requestTimeout = 0;
// Hostile cases send 1000+ headers; the app's own limit must not be the one that answers.
http.maxHeadersCount = 0;

const h2c = createH2Server({ settings: { maxConcurrentStreams: 1000 } }, handle);
h2c.on('sessionError', () => { /* client went away */ });

const tcp = createTcpServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

const grpcServer = new grpc.Server();
grpcServer.addService(GRPC_SERVICE, {
  echo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { echo: call.request }),
  count: (call: grpc.ServerWritableStream<{ n: number }, unknown>) => {
    const n = Math.min(Number(call.request.n) || 0, 10_000);
    for (let i = 0; i < n; i++) call.write({ i });
    call.end();
  },
});

function listen(s: Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

const grpcPort = await new Promise<number>((resolve, reject) => {
  grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
});
const ports = { http: await listen(http), h2c: await listen(h2c as unknown as Server), grpc: grpcPort, tcp: await listen(tcp) };
process.stdout.write(JSON.stringify(ports) + '\n');
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
// Never outlive the soak that started it (stdin is a pipe from the parent; it closes when the parent dies).
process.stdin.on('end', () => process.exit(0)).resume();
