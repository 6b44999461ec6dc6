import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EBB_BIN } from '../helpers.js';
import { podman, podmanUnusable, withPodLock } from '../image/podman.js';

const skip = podmanUnusable();

test('ebb lab --runtime podman on real addressing: ebb-init\'s rules hand the clients\' connections to the app\'s port, and the app\'s own calls out, to the proxy; nothing is left', { skip }, async () => {
  // classic-outbound-at-term: a proxy that closes outbound at TERM, so the app's calls out fail
  // from t0 only if they really go through the proxy's outbound listener. Half the answers take
  // 2 s, so the app, draining its requests in flight, still calls out for a while after its TERM
  // (on a loaded machine a call out was seen to take up to 1 s, and a 1 s warm-up to see no answer).
  const run = await withPodLock(() => new Promise<{ code: number | null; pid: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [EBB_BIN, 'lab', '--runtime', 'podman', '--scenario', 'classic-outbound-at-term', '--json',
      '--warmup', '3', '--propagation-delay', '1', '--rps', '20', '--clients', '2', '--latency', '10ms:50,2s:50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGINT'), 170_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, pid: child.pid!, stdout, stderr }); });
  }));
  assert.equal(run.code, 0, run.stderr);
  const [r] = JSON.parse(run.stdout) as Array<{
    config: Record<string, unknown>;
    proxyAtT0?: { inboundRequests: number; outboundRequests: number; clientRequestsAnsweredByOld: number; clientPort: number };
    appOutbound?: { ok: number; afterT0: { failed: number }; remoteReceived: number };
  }>;
  assert.equal(r!.config.runtime, 'podman');
  assert.equal(r!.config.addressing, 'pod-ip');
  assert.equal(r!.config.transparent, true);
  // The clients connected to the app's port (8080, never the proxy's 4143), and the proxy counted their requests.
  assert.equal(r!.proxyAtT0?.clientPort, 8080);
  assert.ok(r!.proxyAtT0.clientRequestsAnsweredByOld > 0, JSON.stringify(r!.proxyAtT0));
  assert.ok(r!.proxyAtT0.inboundRequests >= r!.proxyAtT0.clientRequestsAnsweredByOld, JSON.stringify(r!.proxyAtT0));
  // The app's calls to the remote service went out through the proxy: counted there, and cut when it closed outbound at TERM.
  assert.ok(r!.proxyAtT0.outboundRequests > 0, JSON.stringify(r!.proxyAtT0));
  assert.ok(r!.appOutbound!.ok > 0 && r!.appOutbound!.remoteReceived > 0, JSON.stringify(r!.appOutbound));
  assert.ok(r!.appOutbound!.afterT0.failed > 0, JSON.stringify(r!.appOutbound));

  const prefix = `ebb-lab-${run.pid}-`;
  assert.equal((await podman(['pod', 'ps', '--filter', `name=${prefix}`, '--format', '{{.Name}}'])).stdout.trim(), '');
  assert.equal((await podman(['ps', '-a', '--filter', `name=${prefix}`, '--format', '{{.Names}}'])).stdout.trim(), '');
  assert.doesNotMatch((await podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, new RegExp(prefix));
});
