import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/inject/corpus.js). */
export const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');

/** The realistic manifests that ship with the repository (see its README.md): always there. */
export const BUNDLED = join(REPO, 'test', 'fixtures', 'manifests');

/**
 * The shared corpus beside the repository (../shared/corpus from the repo root; a worktree one or two
 * levels deeper finds it further up), or undefined: a clone on its own has none, and every test that
 * uses it is an extra that says it did not run.
 */
export function sharedCorpusDir(): string | undefined {
  let dir = REPO;
  for (let i = 0; i < 3; i++) {
    const candidate = join(dirname(dir), 'shared', 'corpus');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

/** The skip reason for tests of the shared corpus, or false when it is there. */
export function sharedCorpusSkip(): string | false {
  return sharedCorpusDir() === undefined
    ? `extra not run: no shared corpus beside the clone (looked for ${join(dirname(REPO), 'shared', 'corpus')}); the bundled manifests in test/fixtures/manifests ran`
    : false;
}

/** Every manifest file (.yaml, .yml, .json) under dir, sorted, directories walked. */
export function manifestFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? manifestFiles(p) : /\.(ya?ml|json)$/.test(n) ? [p] : [];
  });
}
