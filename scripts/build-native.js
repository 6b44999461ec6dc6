#!/usr/bin/env node
// npm's install script: builds the native addon (build/Release/ebb_native.node) with node-gyp.
// The addon only serves `ebb proxy --transparent` (it reads SO_ORIGINAL_DST), so a machine without a
// compiler must still install ebb: a failed build is reported here and again, clearly, at the
// start of a transparent proxy, but never fails `npm ci`. EBB_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux' || process.env.EBB_SKIP_NATIVE === '1') {
  console.error(`ebb: native addon not built (${process.platform !== 'linux' ? 'SO_ORIGINAL_DST is Linux-only' : 'EBB_SKIP_NATIVE=1'}); only \`ebb proxy --transparent\` needs it`);
  process.exit(0);
}

// npm hands its bundled node-gyp to lifecycle scripts in npm_config_node_gyp; otherwise use PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp && existsSync(gyp) ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
// Use the headers installed next to this node (e.g. /usr/include/node) unless told otherwise, so the
// build needs no download.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status === 0) process.exit(0);
console.error([
  '',
  'ebb: WARNING: the native addon (build/Release/ebb_native.node) could not be built' +
    (r.error ? ` (${r.error.message})` : ` (node-gyp exited ${r.status})`) + '.',
  'ebb: everything works without it except `ebb proxy --transparent`, which will refuse to start.',
  'ebb: to build it: install a C compiler, make, python3 and the Node headers, then run `npm rebuild` (or `npx node-gyp rebuild`).',
  '',
].join('\n'));
process.exit(0);
