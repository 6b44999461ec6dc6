import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EBB_BIN } from '../helpers.js';
import { podman, podmanUnusable, withPodLock } from '../image/podman.js';

const skip = podmanUnusable();

function lab(args: string[]): Promise<{ code: number | null; pid: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EBB_BIN, 'lab', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGINT'), 170_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, pid: child.pid!, stdout, stderr }); });
  });
}

test('ebb lab --runtime podman: the kubelet simulator deletes a podman pod; the app\'s exec preStop runs in its container, every container exits 0, nothing is left', { skip }, async () => {
  // One short classic-wait run: the app's exec preStop (sh -c sleep) runs in its container.
  const text = await withPodLock(() => lab(['--runtime', 'podman', '--scenario', 'classic-wait', '--fixed-wait', '3', '--propagation-delay', '1',
    '--warmup', '1', '--rps', '40', '--clients', '4']));
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /runtime podman/);
  assert.match(text.stdout, /old pod: app exited 0/);
  assert.match(text.stdout, /old pod: ebb-proxy exited 0/);
  // The app's hook ran in the container: its result is podman exec's exit, not a simulated sleep.
  assert.match(text.stdout, /app +preStop exec \["\/bin\/sh","-c","sleep \d+"\] [\d.]+→[\d.]+ s, TERM/);
  assert.doesNotMatch(text.stdout, /not run: the lab only simulates/);

  // Nothing of either run is left: pods, containers, the demo app image.
  for (const pid of [text.pid]) {
    const pods = await podman(['pod', 'ps', '--filter', `name=ebb-lab-${pid}-`, '--format', '{{.Name}}']);
    assert.equal(pods.stdout.trim(), '');
    const ctrs = await podman(['ps', '-a', '--filter', `name=ebb-lab-${pid}-`, '--format', '{{.Names}}']);
    assert.equal(ctrs.stdout.trim(), '');
    const images = await podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.doesNotMatch(images.stdout, new RegExp(`ebb-lab-${pid}-`));
  }
});
