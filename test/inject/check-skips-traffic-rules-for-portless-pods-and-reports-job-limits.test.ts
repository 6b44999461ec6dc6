/**
 * `ebb check` on what a Job or a queue worker is: no declared TCP port means nobody sends to the pod,
 * so the rules about clients still sending during shutdown (no_proxy_wait, no_app_prestop) are not
 * findings there, and no_app_ports says what the proxy then serves. The exit watch's limits listed
 * in docs/jobs.md are findings: restartPolicy OnFailure, and a native sidecar of the app's own.
 * With no input, `ebb check` suggests an `ebb check` command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { check, injectObject, resolveInjectConfig } from '../../src/inject/index.js';
import { findingSentence } from '../../src/inject/messages.js';
import { runEbb } from '../helpers.js';
import { BUNDLED } from './corpus.js';

const classic = resolveInjectConfig({ mode: 'classic' }).config;
const native = resolveInjectConfig({}).config;
const codes = (obj: unknown, cfg = classic): string[] => check(obj, cfg).findings.map((f) => f.code);

const worker = (ports?: number[]): Record<string, unknown> => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'worker' },
  spec: { template: { spec: { containers: [{ name: 'worker', image: 'worker:1', command: ['node', 'worker.js'], ...(ports ? { ports: ports.map((p) => ({ containerPort: p })) } : {}) }] } } },
});
const job = (spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'reindex' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'reindex', image: 'r:1', command: ['/reindex'] }], ...spec } } },
});

test('a portless worker or Job gets no traffic warnings; the same worker with a port still does', () => {
  assert.ok(!codes(worker()).includes('no_proxy_wait'), codes(worker()).join(','));
  assert.ok(codes(worker([8080])).includes('no_proxy_wait'), 'a pod that takes traffic keeps the rule');
  for (const cfg of [native, resolveInjectConfig({ mode: 'classic', 'wait-before-exit-seconds': '10' }).config]) {
    assert.ok(!codes(job(), cfg).includes('no_app_prestop'), codes(job(), cfg).join(','));
    assert.ok(!codes(worker(), cfg).includes('no_app_prestop'));
  }
  assert.ok(codes(worker([8080]), native).includes('no_app_prestop'));
  // The same on an already injected manifest, as `ebb check` reads it.
  const injected = injectObject(worker(), classic).object;
  assert.ok(!codes(injected).includes('no_proxy_wait'), codes(injected).join(','));
});

test('no_app_ports without --transparent says the proxy serves only its admin port (there is no outbound listener)', () => {
  const f = check(worker(), resolveInjectConfig({ transparent: 'false' }).config).findings.find((x) => x.code === 'no_app_ports');
  assert.ok(f, 'no_app_ports reported');
  const sentence = findingSentence(f);
  assert.match(sentence, /serves only its admin port/);
  assert.doesNotMatch(sentence, /admin and outbound/);
  assert.match(sentence, /no_proxy_wait, no_app_prestop\) are skipped/);
});

test('the exit watch with restartPolicy OnFailure (a CronJob), and with a native sidecar of the app\'s own, are warnings', async () => {
  const cli = await runEbb(['check', '--mode', 'classic', join(BUNDLED, 'cronjob-on-failure.yaml')]);
  assert.match(cli.stdout, /‼ warning job_exit_watch_on_failure: CronJob with restartPolicy: OnFailure/);
  assert.match(cli.stdout, /fix: use restartPolicy: Never with the Job's backoffLimit/);
  assert.ok(!codes(job()).includes('job_exit_watch_on_failure'), 'Never is fine');
  assert.ok(!codes(job({ restartPolicy: 'OnFailure' }), native).includes('job_exit_watch_on_failure'), 'native mode has no exit watch');
  assert.ok(!codes(job({ restartPolicy: 'OnFailure' }), resolveInjectConfig({ mode: 'classic', 'job-exit': 'await' }).config).includes('job_exit_watch_on_failure'));
  const withSidecar = job({ initContainers: [{ name: 'cloud-sql-proxy', image: 'csp:2', restartPolicy: 'Always' }] });
  assert.ok(codes(withSidecar).includes('job_exit_watch_other_sidecar'));
  // Also when checking the injected manifest.
  assert.ok(codes(injectObject(withSidecar, classic).object).includes('job_exit_watch_other_sidecar'));
});

test('ebb check with no input suggests an ebb check command line (not ebb inject)', async () => {
  const r = await runEbb(['check']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no input: .*`ebb check -f app\.yaml`/);
  assert.doesNotMatch(r.stderr, /ebb inject/);
  const i = await runEbb(['inject']);
  assert.match(i.stderr, /`ebb inject -f app\.yaml`/);
});
