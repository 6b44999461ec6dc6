/**
 * Golden tests: test/fixtures/inject/<case>.input.yaml → <case>.golden.yaml (stdout, compared
 * structurally) + <case>.report (stderr of inject/uninject, or the output of check; compared as
 * text). The first line of the input says what to run: `# ebb: inject --mode classic …`.
 * UPDATE_GOLDEN=1 rewrites the expected files. Versions are pinned to "test".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { applySettings, DEFAULT_INJECT_CONFIG } from '../../src/inject/config.js';
import type { InjectConfig } from '../../src/inject/types.js';
import { parseSource } from '../../src/manifests/read.js';
import { runTransform } from '../../src/cli/inject.js';
import { runCheck } from '../../src/cli/check.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
const DIR = join(REPO, 'test/fixtures/inject');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const PINNED: InjectConfig = Object.freeze({ ...DEFAULT_INJECT_CONFIG, proxyImage: 'ebb:test', proxyVersion: 'test', injectedBy: 'ebb inject test' });

interface Header { command: 'inject' | 'uninject' | 'check'; settings: Record<string, string>; json: boolean; verbose: boolean; grace?: number }

function header(text: string, name: string): Header {
  const m = /^# ebb: (inject|uninject|check)\b(.*)$/m.exec(text.split('\n')[0] ?? '');
  if (!m) throw new Error(`${name}: first line must be "# ebb: inject|uninject|check [flags]"`);
  const words = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
  const h: Header = { command: m[1] as Header['command'], settings: {}, json: false, verbose: false };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-o') h.json = words[++i] === 'json';
    else if (w === '--verbose') h.verbose = true;
    else if (w === '--grace-period') h.grace = Number(words[++i]);
    else if (w.startsWith('--')) h.settings[w.slice(2)] = words[++i] ?? '';
    else throw new Error(`${name}: cannot read flag ${w}`);
  }
  return h;
}

function structural(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS() as unknown).filter((v) => v !== null && v !== undefined);
}

const cases = readdirSync(DIR).filter((f) => f.endsWith('.input.yaml')).map((f) => f.slice(0, -'.input.yaml'.length)).sort();

test('there are golden cases', () => { assert.ok(cases.length > 20); });

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const input = readFileSync(join(DIR, `${name}.input.yaml`), 'utf8');
    const h = header(input, name);
    const { config, problems } = applySettings(PINNED, h.settings);
    assert.deepEqual(problems, []);
    const docs = parseSource({ name: `${name}.input.yaml`, text: input });
    let stdout = '';
    let report: string;
    if (h.command === 'check') {
      const out = runCheck(docs, config, { json: h.json, verbose: h.verbose, ...(h.grace === undefined ? {} : { graceSeconds: h.grace }) });
      report = out.stdout + `exit ${out.exitCode}\n`;
    } else {
      const out = runTransform(docs, h.command === 'inject' ? config : null, { format: h.json ? 'json' : 'yaml', verbose: h.verbose });
      stdout = out.stdout;
      report = out.stderr + `exit ${out.exitCode}\n`;
    }
    const goldenYaml = join(DIR, `${name}.golden.yaml`);
    const goldenReport = join(DIR, `${name}.report`);
    if (UPDATE) {
      if (h.command === 'check') { if (existsSync(goldenYaml)) unlinkSync(goldenYaml); } else writeFileSync(goldenYaml, stdout);
      writeFileSync(goldenReport, report);
      return;
    }
    if (h.command !== 'check') {
      assert.deepEqual(structural(stdout), structural(readFileSync(goldenYaml, 'utf8')), `${name}: output differs from ${name}.golden.yaml (UPDATE_GOLDEN=1 to rewrite)`);
    }
    assert.equal(report, readFileSync(goldenReport, 'utf8'), `${name}: report differs from ${name}.report`);
  });
}
