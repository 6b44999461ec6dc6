// The bare node:http2 forwarder ebb's h2c path is measured against: an h2c server whose streams go,
// one for one, to one h2c client session to the upstream, bodies piped both ways. No limits, no
// drain, no metrics, no error mapping beyond a 502: the floor for HTTP/2 proxying in Node.
//   node dist/bench/peers/h2-forwarder.js LISTEN_PORT UPSTREAM_PORT
import http2 from 'node:http2';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
let session: http2.ClientHttp2Session | null = null;
function upstream(): http2.ClientHttp2Session {
  if (session && !session.destroyed && !session.closed) return session;
  const s = http2.connect(`http://127.0.0.1:${upstreamPort}`);
  s.on('error', () => { /* the streams on it fail on their own */ });
  s.on('close', () => { if (session === s) session = null; });
  return (session = s);
}

const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream, headers) => {
  const up = upstream().request({
    ':method': headers[':method'], ':path': headers[':path'], ':authority': headers[':authority'], ':scheme': 'http',
  }, { endStream: stream.readableEnded });
  stream.on('error', () => up.destroy());
  up.on('error', () => { if (!stream.headersSent && !stream.destroyed) stream.respond({ ':status': 502 }, { endStream: true }); else stream.destroy(); });
  up.on('response', (h) => {
    const out: http2.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(h)) if (k[0] !== ':' || k === ':status') out[k] = v;
    stream.respond(out);
    up.pipe(stream);
  });
  if (!stream.readableEnded) stream.pipe(up);
});
server.on('sessionError', () => { /* client went away */ });
server.listen(listenPort, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
