import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_IMAGE, must, podman, podmanUnusable } from './podman.js';

const skip = podmanUnusable();

test('ebb:<version> has no shell: /bin/sh cannot be run, and no shell or env binary exists', { skip }, async () => {
  const sh = await podman(['run', '--rm', '--network', 'none', '--entrypoint', '/bin/sh', EBB_IMAGE, '-c', 'true']);
  assert.notEqual(sh.code, 0);
  assert.match(sh.stderr, /no such file or directory|not found/i);
  const look = "const fs=require('fs');console.log(JSON.stringify(['/bin/sh','/bin/bash','/bin/dash','/usr/bin/sh','/usr/bin/env','/bin/busybox'].filter(p=>fs.existsSync(p))))";
  assert.deepEqual(JSON.parse(await must(['run', '--rm', '--network', 'none', '--entrypoint', '/nodejs/bin/node', EBB_IMAGE, '-e', look])), []);
});
