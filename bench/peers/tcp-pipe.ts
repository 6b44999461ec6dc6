// The raw Node TCP pipe ebb's opaque mode is measured against: accept, connect, pipe both ways.
// Nothing else — no protocol detection, no drain, no metrics — so it is the floor for Node.
//   node dist/bench/peers/tcp-pipe.js LISTEN_PORT UPSTREAM_PORT
import { connect, createServer } from 'node:net';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
createServer((client) => {
  const upstream = connect(upstreamPort, '127.0.0.1');
  const close = (): void => { client.destroy(); upstream.destroy(); };
  client.on('error', close);
  upstream.on('error', close);
  client.pipe(upstream);
  upstream.pipe(client);
}).listen(listenPort, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
