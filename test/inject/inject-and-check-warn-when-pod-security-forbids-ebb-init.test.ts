import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { DEFAULT_INJECT_CONFIG, applySettings } from '../../src/inject/config.js';
import { parseSource } from '../../src/manifests/read.js';
import { runTransform } from '../../src/cli/inject.js';
import { runCheck } from '../../src/cli/check.js';

// ebb-init adds NET_ADMIN and NET_RAW (and runs as root), which Pod Security "baseline" and
// "restricted" forbid: a namespace enforcing either rejects every pod that has it.
const ns = (name: string, level?: string): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...(level ? { labels: { 'pod-security.kubernetes.io/enforce': level } } : {}) },
});
const deploy = (name: string, namespace: string): Record<string, unknown> => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1', ports: [{ containerPort: 8080 }] }] } } },
});
const docs = (...objs: Record<string, unknown>[]): ReturnType<typeof parseSource> => parseSource({ name: 'in.yaml', text: objs.map((o) => stringify(o)).join('---\n') });
const config = (settings: Record<string, string> = {}): typeof DEFAULT_INJECT_CONFIG => applySettings({ ...DEFAULT_INJECT_CONFIG, proxyVersion: 'test', proxyImage: 'ebb:test' }, settings).config;

test('inject warns about a transparent workload in a namespace enforcing baseline or restricted, with the fix', () => {
  const out = runTransform(docs(ns('shop', 'restricted'), ns('tools', 'baseline'), ns('open', 'privileged'), ns('plain'),
    deploy('web', 'shop'), deploy('cli', 'tools'), deploy('free', 'open'), deploy('dev', 'plain')), config(), { format: 'yaml', verbose: false });
  assert.equal(out.exitCode, 0);
  const lines = out.stderr.split('\n').filter((l) => l.includes('pod_security_forbids_init'));
  // Each namespace (enabled for the webhook here) and each workload in it; none in privileged or unlabelled ones.
  assert.equal(lines.length, 4, out.stderr);
  assert.ok(lines.some((l) => /namespace "shop" enforces Pod Security "restricted".*NET_ADMIN and NET_RAW.*running as root.*rejects every pod of deployment "web" \(the deployment itself is accepted/.test(l)), out.stderr);
  assert.ok(lines.some((l) => /namespace "tools" enforces Pod Security "baseline".*every pod of deployment "cli"/.test(l)), out.stderr);
  assert.ok(!/"open"|"plain"|"free"|"dev"/.test(lines.join('\n')), out.stderr);
});

test('inject --transparent false writes no ebb-init, so there is nothing to warn about', () => {
  const out = runTransform(docs(ns('shop', 'baseline'), deploy('web', 'shop')), config({ transparent: 'false' }), { format: 'yaml', verbose: false });
  assert.doesNotMatch(out.stderr, /pod_security_forbids_init/);
});

test('check warns the same way, on the workload as inject would write it and as written', () => {
  const plain = runCheck(docs(ns('shop', 'baseline'), deploy('web', 'shop')), config(), { json: true, verbose: false });
  const codes = (JSON.parse(plain.stdout) as Array<{ kind: string; findings: Array<{ code: string; severity: string }> }>)
    .flatMap((r) => r.findings.filter((f) => f.code === 'pod_security_forbids_init').map((f) => `${r.kind} ${f.severity}`));
  assert.deepEqual(codes, ['Deployment warning']);
  const injected = runTransform(docs(deploy('web', 'shop')), config(), { format: 'yaml', verbose: false }).stdout;
  const again = runCheck(parseSource({ name: 'in.yaml', text: `${stringify(ns('shop', 'baseline'))}---\n${injected}` }), config(), { json: false, verbose: false });
  assert.match(again.stdout, /pod_security_forbids_init: namespace "shop" enforces Pod Security "baseline"/);
  assert.match(again.stdout, /fix: label the namespace privileged \(kubectl label --overwrite namespace shop pod-security\.kubernetes\.io\/enforce=privileged\), or inject with --transparent false.*ebb has no CNI plugin/);
});

test('a namespace enabled for injection while it enforces baseline: the webhook\'s transparent pods would be rejected', () => {
  const out = runTransform(docs(ns('shop', 'baseline')), config(), { format: 'yaml', verbose: false });
  assert.match(out.stderr, /pod_security_forbids_init: namespace "shop" enforces Pod Security "baseline".*every pod the webhook injects here with ebb-init/);
});
