import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV } from '../../src/proxy/memory-relief.js';
import { EBB_IMAGE, must, podmanUnusable } from './podman.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** KEY=value pairs of the ENV instructions of the Dockerfile's last (runtime) stage. */
function runtimeEnv(): Record<string, string> {
  const text = readFileSync(`${root}Dockerfile`, 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = text.split(/^FROM\s/m);
  const env: Record<string, string> = {};
  for (const line of stages.at(-1)!.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const kv of m[1]!.trim().split(/\s+/)) {
      const eq = kv.indexOf('=');
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
  }
  return env;
}

// `npm run soak`, `npm run bench` and the lab's process runtime start the proxy with IMAGE_ENV
// (MALLOC_ARENA_MAX, which the memory bounds of issue 11 were measured with): the image must give
// the proxy the same, or those numbers are not the pod's.
test('the Dockerfile\'s runtime stage sets every variable of IMAGE_ENV to the same value', () => {
  const env = runtimeEnv();
  assert.ok(Object.keys(IMAGE_ENV).length > 0);
  for (const [k, v] of Object.entries(IMAGE_ENV)) assert.equal(env[k], v, `Dockerfile runtime ENV ${k} (IMAGE_ENV has ${k}=${v})`);
});

test('the built image\'s environment has IMAGE_ENV', { skip: podmanUnusable() }, async () => {
  const out = await must(['image', 'inspect', '--format', '{{json .Config.Env}}', EBB_IMAGE]);
  const env = JSON.parse(out) as string[];
  for (const [k, v] of Object.entries(IMAGE_ENV)) assert.ok(env.includes(`${k}=${v}`), `${EBB_IMAGE} Env ${out} lacks ${k}=${v} (rebuild it: npm run image:local)`);
});
