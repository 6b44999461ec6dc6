/**
 * `npm ci` warns EBADENGINE when a package in the lockfile asks for a Node newer than the one that
 * runs it; the README says Node >= 20. Every locked package's `engines.node` must accept this Node
 * (the tests run on the oldest one supported: 20).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO } from '../inject/corpus.js';

const semver = createRequire(import.meta.url)('semver') as { satisfies(v: string, range: string): boolean };

test('every package in package-lock.json accepts this Node version (no EBADENGINE from npm ci)', () => {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: unknown }> };
  const bad: string[] = [];
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = typeof p.engines === 'object' && p.engines !== null ? (p.engines as { node?: string }).node : undefined;
    if (range && !semver.satisfies(process.version, range)) bad.push(`${path.replace(/^node_modules\//, '') || 'ebb'}@${p.version ?? ''} wants node ${range}`);
  }
  assert.deepEqual(bad, [], `on ${process.version}: pin or replace what pulls these in (package.json "overrides"):\n${bad.join('\n')}`);
});

test('package.json says Node >= 20, as the README does', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, '>=20');
  assert.match(readFileSync(join(REPO, 'README.md'), 'utf8'), /Node\.js ≥ 20/);
});
