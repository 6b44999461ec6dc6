import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runEbb } from '../helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

test('ebb --version prints the package version', async () => {
  const r = await runEbb(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('an unknown command exits 2 with a message and no stack trace', async () => {
  const r = await runEbb(['frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});

test('ebb sleep rejects a negative duration with exit 2', async () => {
  const r = await runEbb(['sleep', '-1']);
  assert.equal(r.code, 2);
});

test('ebb sleep waits and exits 0', async () => {
  const r = await runEbb(['sleep', '0.05']);
  assert.equal(r.code, 0);
});
