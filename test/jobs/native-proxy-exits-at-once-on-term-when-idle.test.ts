import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, startProxy } from '../proxy/harness.js';

// Native mode completes Jobs because the kubelet TERMs the proxy once the app has exited. With
// nothing in flight the proxy must then leave at once: not wait out --drain-timeout because of an
// idle keep-alive connection. The deadline here is far beyond the test's own timeout, so an exit
// at all proves it ended because it was idle.
test('native mode: TERM with nothing in flight (one idle keep-alive connection) exits 0 at once, not at the drain deadline', async () => {
  const app = await startApp((_req, res) => res.end('ok'));
  const p = await startProxy(['--app-port', String(app.port), '--sidecar-mode', 'native', '--drain-timeout', '3600']);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  after(async () => { agent.destroy(); await p.stop(); await app.close(); });

  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: p.port, path: '/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  }
  p.signal('SIGTERM');
  assert.equal((await p.exited).code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete');
  assert.ok(summary, p.stderr());
  assert.equal(summary.drainEndedBy, 'idle');
  assert.equal(summary.forcedCloses, 0);
  assert.equal(summary.reason, 'SIGTERM');
});
