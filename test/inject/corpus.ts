import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/inject/corpus.js). */
export const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');

/**
 * The shared corpus beside the repository: ../shared/corpus from the repo root (CI clones have a
 * copy of shared/ beside them). A worktree one level deeper (…/wt/<name>) finds it one level up.
 */
export function corpusDir(): string {
  let dir = REPO;
  for (let i = 0; i < 3; i++) {
    const candidate = join(dirname(dir), 'shared', 'corpus');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`shared/corpus not found beside ${REPO} (expected ${join(dirname(REPO), 'shared', 'corpus')})`);
}
