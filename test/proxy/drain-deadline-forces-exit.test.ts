import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, startProxy, state, eventually } from './harness.js';

test('a client that never finishes does not hold the proxy past --drain-timeout: forced closed, exit 0', async () => {
  // The app never answers; the request stays in flight forever.
  const app = await startApp(() => {});
  const p = await startProxy(['--app-port', String(app.port), '--drain-timeout', '1']);
  after(async () => { await p.stop(); await app.close(); });

  const clientSaw = new Promise<string>((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: p.port, path: '/forever', agent: false }, () => resolve('response'));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  await eventually(async () => ((await state(p.admin)).inFlight as { requests: number }).requests === 1, 'request in flight');
  p.signal('SIGTERM');
  const { code } = await p.exited;
  assert.equal(code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.drainEndedBy, 'deadline');
  assert.ok((summary.forcedCloses as number) >= 1);
  assert.equal(await clientSaw, 'ECONNRESET');
});
