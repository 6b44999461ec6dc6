import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINDINGS, REASONS, SETTINGS } from '../../src/inject/index.js';
import { REPO } from './corpus.js';

const doc = readFileSync(join(REPO, 'docs/inject.md'), 'utf8');

test('docs/inject.md documents every inject flag and its config.ebb.io annotation', () => {
  for (const s of SETTINGS) {
    assert.ok(doc.includes(`\`--${s.flag}`), `--${s.flag} is not documented`);
    assert.ok(doc.includes(`config.ebb.io/${s.flag}`), `config.ebb.io/${s.flag} is not documented`);
  }
});

test('docs/inject.md documents every reason and finding code', () => {
  for (const code of [...Object.keys(REASONS), ...Object.keys(FINDINGS)]) {
    assert.ok(doc.includes(`\`${code}\``), `${code} is not documented`);
  }
});

test('the README links docs/inject.md', () => {
  assert.match(readFileSync(join(REPO, 'README.md'), 'utf8'), /\(docs\/inject\.md\)/);
});
