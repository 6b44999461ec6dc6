// Bulk TCP load generator for the echo upstream: N connections each keep a window of bytes in flight
// (write 64 KiB chunks while less than WINDOW is unacknowledged by the echo), and count what comes
// back. Prints one JSON line: {"bytes":…, "seconds":…} for the measured part (after the warm-up).
//   node dist/bench/echo-client.js PORT CONNECTIONS WARMUP_S DURATION_S
import { connect, type Socket } from 'node:net';

const [port, connections, warmupS, durationS] = process.argv.slice(2).map(Number);
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const WINDOW = 1024 * 1024;

let measuring = false;
let bytes = 0;
let errors = 0;
const sockets: Socket[] = [];

for (let i = 0; i < connections; i++) {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  sockets.push(s);
  let sent = 0;
  let received = 0;
  const pump = (): void => {
    while (sent - received + CHUNK.length <= WINDOW) {
      sent += CHUNK.length;
      if (!s.write(CHUNK)) break;
    }
  };
  s.on('connect', pump);
  s.on('drain', pump);
  s.on('data', (d: Buffer) => {
    received += d.length;
    if (measuring) bytes += d.length;
    pump();
  });
  s.on('error', () => { errors++; });
}

setTimeout(() => {
  measuring = true;
  const t0 = process.hrtime.bigint();
  setTimeout(() => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ bytes, seconds, errors }) + '\n', () => {
      for (const s of sockets) s.destroy();
      process.exit(0);
    });
  }, durationS * 1000);
}, warmupS * 1000);
