/**
 * kubectl runs any executable named kubectl-<name> on PATH as `kubectl <name>`. The package's bin
 * entry kubectl-ebb (or a link to bin/ebb.js, as the README shows) found through PATH runs the CLI,
 * and its usage lines say `kubectl ebb`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { EBB_BIN } from '../helpers.js';
import { REPO } from '../inject/corpus.js';

test('kubectl-ebb on PATH (a link to bin/ebb.js) answers --help and a subcommand as `kubectl ebb`', { skip: process.platform === 'win32' ? 'symlinks on PATH are a POSIX setup' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-kubectl-plugin-'));
  try {
    symlinkSync(EBB_BIN, join(dir, 'kubectl-ebb'));
    // Only the link's directory and node's (for `#!/usr/bin/env node`): nothing else named ebb.
    const env = { ...process.env, PATH: [dir, dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter) };
    const help = spawnSync('kubectl-ebb', ['--help'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.error, undefined, String(help.error));
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: kubectl ebb \[options\] \[command\]/m);
    assert.match(help.stdout, /\binject\b/);
    const sub = spawnSync('kubectl-ebb', ['check', '--help'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(sub.status, 0, sub.stderr);
    assert.match(sub.stdout, /^Usage: kubectl ebb check /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 30_000 });
const noKubectl = kubectl.error !== undefined || kubectl.status !== 0 ? 'kubectl is not installed: only kubectl-ebb itself was run through PATH' : false;

test('`kubectl ebb --help` runs the plugin found on PATH (where kubectl is installed)', { skip: noKubectl }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-kubectl-plugin-'));
  try {
    symlinkSync(EBB_BIN, join(dir, 'kubectl-ebb'));
    const env = { ...process.env, PATH: [dir, dirname(process.execPath), process.env.PATH ?? ''].join(delimiter), KUBECONFIG: join(dir, 'none') };
    const list = spawnSync('kubectl', ['plugin', 'list'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.match(list.stdout, /kubectl-ebb/, list.stderr);
    const help = spawnSync('kubectl', ['ebb', '--help'], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: kubectl ebb \[options\] \[command\]/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('package.json installs kubectl-ebb, and the README shows how to put it on PATH', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(pkg.bin['kubectl-ebb'], 'bin/ebb.js');
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  assert.match(readme, /npm (install|i) -g/);
  assert.match(readme, /ln -s \S*bin\/ebb\.js\S* \S*kubectl-ebb/);
  assert.match(readme, /kubectl plugin list/);
});
