import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EBB_BIN } from '../helpers.js';
import { podman, podmanUnusable, until, withPodLock } from '../image/podman.js';

const skip = podmanUnusable();

test('ebb lab --runtime podman interrupted (SIGINT) while its pods run removes its pods, containers and image', { skip }, async () => {
  await withPodLock(async () => {
    const child = spawn(process.execPath, [EBB_BIN, 'lab', '--runtime', 'podman', '--scenario', 'native', '--warmup', '30', '--rps', '20', '--clients', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const prefix = `ebb-lab-${child.pid}-`;
    try {
      // Both pods' app containers running: the lab is in its warm-up.
      await until('the lab\'s containers', async () => {
        const r = await podman(['ps', '--filter', `name=${prefix}`, '--format', '{{.Names}}']);
        return r.stdout.split('\n').filter((n) => n.endsWith('-app')).length === 2;
      }, 600, 100);
      child.kill('SIGINT');
      assert.equal(await closed, 130);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal((await podman(['pod', 'ps', '--filter', `name=${prefix}`, '--format', '{{.Name}}'])).stdout.trim(), '');
    assert.equal((await podman(['ps', '-a', '--filter', `name=${prefix}`, '--format', '{{.Names}}'])).stdout.trim(), '');
    assert.doesNotMatch((await podman(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, new RegExp(prefix));
  });
});
