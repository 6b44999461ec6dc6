/**
 * A naive TCP forwarder for the lab's --sidecar-command test: node tcp-forwarder.js LISTEN APP.
 * It does nothing special on TERM (Node's default: exit at once), like a proxy without a drain.
 */
import net from 'node:net';

const [listen, app] = process.argv.slice(2).map(Number);
net.createServer((c) => {
  const u = net.connect({ host: '127.0.0.1', port: app! });
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(listen, '127.0.0.1');
