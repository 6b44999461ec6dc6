import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startApp, startProxy, rawConnect, parseResponses, eventually } from './harness.js';

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

// The fast engine hands an upgrade (or CONNECT) to the node:http engine; once the app refused it
// and the connection is HTTP again, the fast engine takes it back. Before, the node engine kept it,
// and the requests behind the refusal went through undici: loaded for them (10-20 MiB, once per
// process) and a pool connection of its own to the app. Seen here as which app connection the
// request behind the refusal arrives on: the fast engine's idle one, the one the request ahead used.
test('after a refused upgrade or CONNECT the fast engine serves the connection again', async () => {
  const seen: Array<[string, number]> = [];
  const tunnels: Socket[] = [];
  const app = await startApp((req, res) => {
    seen.push([req.url!, req.socket.remotePort!]);
    res.end(`plain ${req.url}`);
  }, (server) => {
    server.on('upgrade', (_req, socket: Socket) => { tunnels.push(socket); socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\n\r\nrefused'); });
    server.on('connect', (_req, socket: Socket) => { tunnels.push(socket); socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nforbidden'); });
  });
  const p = await startProxy(['--app-port', String(app.port), '--http1-engine', 'fast']);
  after(async () => { await p.stop(); for (const t of tunnels) t.destroy(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.write(GET('/first') + GET('/ws', UPGRADE) + GET('/next'));
  await eventually(() => c.received().includes('plain /next'), 'the request behind the refused upgrade answered');
  c.socket.write('CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n' + GET('/last'));
  await eventually(() => c.received().includes('plain /last'), 'the request behind the refused CONNECT answered');
  assert.deepEqual(parseResponses(c.received()).map((r) => [r.status, r.body]),
    [[200, 'plain /first'], [400, 'refused'], [200, 'plain /next'], [403, 'forbidden'], [200, 'plain /last']]);
  c.socket.destroy();

  assert.deepEqual(seen.map(([url]) => url), ['/first', '/next', '/last']);
  const ports = new Set(seen.map(([, port]) => port));
  assert.equal(ports.size, 1, `every request on the fast engine's one app connection (app saw ${JSON.stringify(seen)})`);
});
