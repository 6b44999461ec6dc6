/**
 * `kubectl get pods,deploy,sts,ds,job,cronjob -A -o yaml | ebb check -`: one v1 List on stdin with
 * ebb-, Linkerd- and Istio-injected workloads. Each is checked on the same timeline (none refused
 * as "another mesh's sidecar"), each finding names its mesh, and the summary counts what could not
 * be checked. The shared corpus's Linkerd-injected files are an extra run, skipped when absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runEbb } from '../helpers.js';
import { BUNDLED, manifestFiles, sharedCorpusDir, sharedCorpusSkip } from './corpus.js';

const docs = (file: string): Record<string, unknown>[] =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, unknown>).filter((v) => v !== null);

test('a kubectl get List on stdin: Linkerd and Istio workloads are audited, not refused, and the summary counts refusals', async () => {
  const items = [
    ...['linkerd-injected-deployment', 'linkerd-native-sidecar-pod', 'linkerd-injected-job', 'istio-injected-deployment', 'istio-native-sidecar-pod']
      .flatMap((f) => docs(join(BUNDLED, `${f}.yaml`))),
    // A Linkerd Deployment whose grace period is not a number of seconds: refused, and counted.
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'broken', namespace: 'shop' },
      spec: { selector: { matchLabels: { app: 'b' } }, template: { metadata: { annotations: { 'linkerd.io/inject': 'enabled' } },
        spec: { terminationGracePeriodSeconds: -1, containers: [{ name: 'b', image: 'b:1' }] } } } },
  ];
  const list = stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items });
  const r = await runEbb(['check', '-'], { input: list });
  assert.doesNotMatch(r.stdout, /another mesh's sidecar|other_mesh/);
  for (const header of [
    'deployment "web" (Linkerd classic sidecar',
    'pod "voting-5f5b9c8d7-abcde" (Linkerd native sidecar',
    'job "migrate" (Linkerd classic sidecar',
    'deployment "productpage-v1" (Istio classic sidecar',
    'pod "reviews-v2-6c5bf657cf-q8w7e" (Istio native sidecar',
  ]) assert.ok(r.stdout.includes(header), `missing: ${header}\n${r.stdout}`);
  // The proxies are drawn under their own names on the timeline.
  assert.match(r.stdout, /^ {4}linkerd-proxy {5}/m);
  assert.match(r.stdout, /^ {4}istio-proxy {7}/m);
  assert.match(r.stdout, /‼ warning no_app_prestop: Linkerd: container "web-svc"/);
  assert.match(r.stdout, /‼ warning istio_no_proxy_wait: Istio: /);
  assert.match(r.stdout, /deployment "broken" refused: terminationGracePeriodSeconds is -1/);
  assert.match(r.stdout, /^6 resource\(s\) checked: 0 error\(s\), \d+ warning\(s\), 1 refused \(not checked\)$/m);
  assert.equal(r.code, 1, 'a refusal fails the check');
});

test('ebb check -o json names the mesh of each workload in its timing', async () => {
  const r = await runEbb(['check', '-o', 'json', join(BUNDLED, 'linkerd-injected-deployment.yaml'), join(BUNDLED, 'istio-injected-deployment.yaml')]);
  const out = JSON.parse(r.stdout) as { timing: { mesh: string; proxyName: string; mode: string } }[];
  assert.deepEqual(out.map((o) => [o.timing.mesh, o.timing.proxyName, o.timing.mode]), [['linkerd', 'linkerd-proxy', 'classic'], ['istio', 'istio-proxy', 'classic']]);
});

test('extra: the shared corpus\'s Linkerd-injected files are audited with the seed\'s rules', { skip: sharedCorpusSkip() }, async () => {
  const dir = sharedCorpusDir()!;
  const files = manifestFiles(dir).filter((f) => readFileSync(f, 'utf8').includes('name: linkerd-proxy'));
  assert.ok(files.length > 0, 'the corpus has Linkerd-injected files');
  for (const f of files) {
    const r = await runEbb(['check', f]);
    assert.doesNotMatch(r.stdout, /another mesh's sidecar/, f);
    assert.match(r.stdout, /\(Linkerd (classic|native) sidecar, terminationGracePeriodSeconds \d+/, f);
    assert.match(r.stdout, /^ {4}linkerd-proxy /m, f);
  }
});
