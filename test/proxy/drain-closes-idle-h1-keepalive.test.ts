import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { startApp, startProxy, deferred } from './harness.js';

test('an idle keep-alive H1 connection is closed when draining starts, and the proxy exits 0', async () => {
  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port)]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  after(async () => { agent.destroy(); await p.stop(); await app.close(); });

  const socketClosed = deferred();
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: '/', agent }, (res) => {
      assert.equal(res.headers.connection, 'keep-alive');
      res.resume().on('end', resolve);
    });
    req.on('socket', (s: Socket) => s.once('close', () => socketClosed.resolve()));
    req.on('error', reject);
  });
  // The connection now sits idle in the agent's pool.
  p.signal('SIGTERM');
  await socketClosed.promise;
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.forcedCloses, 0, 'closed gracefully at drain start, not forced at the deadline');
});
