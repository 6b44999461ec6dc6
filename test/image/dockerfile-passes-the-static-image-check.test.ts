import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// The static half of `npm run image:check` (the Dockerfile against the repository). The full check,
// with a pruned production install run through the image's launcher, is `npm run image:check`.
test('the Dockerfile is multi-stage, Node 24, non-root, shell-free at run time, and copies files that exist', () => {
  const r = spawnSync(process.execPath, ['scripts/image-check.js', '--static'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /non-root user 65532/);
  assert.match(r.stdout, /entrypoint \/usr\/local\/bin\/ebb, on PATH/);
  assert.match(r.stdout, /image check passed/);
});
