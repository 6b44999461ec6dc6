import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { EBB_BIN, runEbb, type RunResult } from '../helpers.js';
import { BUNDLED, REPO } from './corpus.js';

const FIX = join(REPO, 'test/fixtures/inject');
const tmp = mkdtempSync(join(tmpdir(), 'ebb-inject-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const fixture = (name: string): string => readFileSync(join(FIX, `${name}.input.yaml`), 'utf8');
const docs = (text: string): unknown[] => parseAllDocuments(text).map((d) => d.toJS() as unknown).filter((v) => v != null);

test('ebb inject reads stdin, writes YAML on stdout and the report on stderr, exit 0', async () => {
  const r = await runEbb(['inject', '-'], { input: fixture('kind-deployment') });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /name: ebb-proxy/);
  assert.equal(r.stderr, 'deployment "web" injected\n');
});

test('comments, key order and untouched documents survive inject byte for byte', async () => {
  const input = fixture('comments-preserved');
  const r = await runEbb(['inject', '-'], { input });
  assert.equal(r.code, 0, r.stderr);
  for (const comment of input.match(/#[^\n]*/g) ?? []) assert.ok(r.stdout.includes(comment), `comment lost: ${comment}`);
  const untouched = input.slice(input.indexOf('---\n# untouched'));
  assert.ok(r.stdout.endsWith(untouched), 'the ConfigMap document changed');
});

test('uninject(inject(x)) gives x back through the CLI, and inject(inject(x)) == inject(x)', async () => {
  const input = fixture('seed-example-classic');
  const once = await runEbb(['inject', '--mode', 'classic', '--wait-before-exit-seconds', '40', '-'], { input });
  const twice = await runEbb(['inject', '--mode', 'classic', '--wait-before-exit-seconds', '40', '-'], { input: once.stdout });
  assert.deepEqual(docs(twice.stdout), docs(once.stdout));
  const back = await runEbb(['uninject', '-'], { input: once.stdout });
  assert.equal(back.code, 0, back.stderr);
  assert.deepEqual(docs(back.stdout), docs(input));
  assert.equal(back.stderr, 'deployment "web" uninjected\n');
});

test('a refusal writes nothing, explains in one line and exits 1', async () => {
  const r = await runEbb(['inject', '-f', join(FIX, 'refuse-host-network.input.yaml')]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^deployment "host" refused: hostNetwork: true.*\[host_network\]$/m);
});

test('a YAML error names file, line and column, exit 1', async () => {
  const bad = join(BUNDLED, 'malformed.bad.yaml');
  const r = await runEbb(['inject', bad]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /malformed\.bad\.yaml:\d+:\d+: invalid YAML/);
  assert.equal(r.stdout, '');
});

test('usage errors exit 2: bad setting values (all listed), no input, unknown output format', async () => {
  const bad = await runEbb(['inject', '--wait-before-exit-seconds', '-3', '--mode', 'sideways', '-']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--mode "sideways"/);
  assert.match(bad.stderr, /--wait-before-exit-seconds "-3"/);
  assert.equal((await runEbb(['inject'])).code, 2);
  assert.equal((await runEbb(['inject', '-o', 'xml', '-'], { input: '' })).code, 2);
  assert.equal((await runEbb(['inject', '--no-such-flag', '-'])).code, 2);
});

test('a missing file exits 1 with its name', async () => {
  const r = await runEbb(['inject', join(tmp, 'nope.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.yaml: cannot read/);
});

test('directories are walked recursively for .yaml, .yml and .json; -o json writes one JSON document per resource', async () => {
  const dir = join(tmp, 'tree');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.yaml'), fixture('kind-pod'));
  writeFileSync(join(dir, 'sub', 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }));
  writeFileSync(join(dir, 'sub', 'ignored.txt'), 'not a manifest');
  const r = await runEbb(['inject', '-o', 'json', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, 'pod "web" injected\nconfigmap "cfg" skipped: kind ConfigMap has no pod template [unsupported_kind]\n');
  const objs = r.stdout.split(/\n(?=\{)/).map((t) => JSON.parse(t) as { kind: string });
  assert.deepEqual(objs.map((o) => o.kind), ['Pod', 'ConfigMap']);
  const yaml = await runEbb(['inject', dir]);
  assert.deepEqual(docs(yaml.stdout), objs);
});

test('--verbose adds the passed checks marked √', async () => {
  const r = await runEbb(['inject', '--verbose', '--mode', 'classic', '--wait-before-exit-seconds', '40', '-'], { input: fixture('seed-example-classic') });
  assert.match(r.stderr, /√ container "web": app preStop sleep 20s is shorter than the proxy wait 40s/);
  assert.doesNotMatch(r.stderr, /‼/);
});

test('works as the kubectl plugin kubectl-ebb: `kubectl ebb inject -f x` runs `kubectl-ebb inject -f x`', async () => {
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(EBB_BIN, join(bin, 'kubectl-ebb'));
  const file = join(FIX, 'kind-deployment.input.yaml');
  const r = await new Promise<RunResult>((res, rej) => {
    const child = spawn(join(bin, 'kubectl-ebb'), ['inject', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ebb-proxy/);
});

test('ebb check: exit 1 on error-level findings, 0 on the seed example, -o json for machines', async () => {
  const bad = await runEbb(['check', join(FIX, 'check-every-rule.input.yaml')]);
  assert.equal(bad.code, 1);
  for (const code of ['app_prestop_not_shorter', 'wait_exceeds_grace', 'app_prestop_exceeds_grace', 'no_app_prestop', 'wait_ignored_in_native', 'no_time_to_drain', 'no_proxy_wait']) {
    assert.match(bad.stdout, new RegExp(`${code}: `));
  }
  assert.match(bad.stdout, /fix: /);
  assert.match(bad.stdout, /grace period 30s \(terminationGracePeriodSeconds/);
  const good = await runEbb(['check', '--mode', 'classic', '--wait-before-exit-seconds', '40', join(FIX, 'seed-example-classic.input.yaml')]);
  assert.equal(good.code, 0, good.stdout);
  const json = await runEbb(['check', '-o', 'json', join(FIX, 'check-every-rule.input.yaml')]);
  assert.equal(json.code, 1);
  const parsed = JSON.parse(json.stdout) as { name: string; findings: { code: string; severity: string; fix: string }[] }[];
  assert.equal(parsed.length, 6);
  const notShorter = parsed.find((p) => p.name === 'not-shorter');
  assert.ok(notShorter?.findings.some((f) => f.code === 'app_prestop_not_shorter' && f.severity === 'error' && f.fix.length > 0));
});

test('ebb check changes nothing it reads', async () => {
  const file = join(tmp, 'check-me.yaml');
  writeFileSync(file, fixture('kind-deployment'));
  await runEbb(['check', file]);
  assert.equal(readFileSync(file, 'utf8'), fixture('kind-deployment'));
});
