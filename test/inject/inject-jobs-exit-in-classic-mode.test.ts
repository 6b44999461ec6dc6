import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import { check, inject, injectObject, uninjectObject, resolveInjectConfig, findingSentence, reasonSentence, type InjectConfig } from '../../src/inject/index.js';

function cfg(raw: Record<string, string> = {}): InjectConfig {
  const r = resolveInjectConfig(raw);
  assert.deepEqual(r.problems, []);
  return r.config;
}

const JOB = YAML.parse(`
apiVersion: batch/v1
kind: Job
metadata: { name: report }
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: work
        image: example/report:1
        command: ["python3", "report.py"]
        args: ["--all"]
`) as unknown;

const CRON = YAML.parse(`
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: work
            image: example/nightly:1
            command: ["/bin/nightly"]
`) as unknown;

const DEPLOY = YAML.parse(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: example/web:1, command: ["/web"], ports: [{ containerPort: 8080 }] }]
`) as unknown;

type Spec = { shareProcessNamespace?: boolean; containers: { name: string; command?: string[]; env?: { name: string; value: string }[] }[] };
const jobSpec = (o: unknown): Spec => (o as { spec: { template: { spec: Spec } } }).spec.template.spec;
const cronSpec = (o: unknown): Spec => (o as { spec: { jobTemplate: { spec: { template: { spec: Spec } } } } }).spec.jobTemplate.spec.template.spec;
const proxyEnv = (s: Spec): Record<string, string> => Object.fromEntries((s.containers[0]!.env ?? []).map((e) => [e.name, e.value]));

test('classic Job and CronJob: watch by default (shared PID namespace + EBB_EXIT_WHEN_APP_EXITS), reported', () => {
  for (const [obj, spec] of [[JOB, jobSpec], [CRON, cronSpec]] as const) {
    const r = injectObject(obj, cfg({ mode: 'classic' }));
    const s = spec(r.object);
    assert.equal(s.shareProcessNamespace, true);
    assert.equal(s.containers[0]!.name, 'ebb-proxy');
    assert.equal(proxyEnv(s).EBB_EXIT_WHEN_APP_EXITS, 'true');
    assert.equal(proxyEnv(s).EBB_SHUTDOWN_ENDPOINT, undefined);
    assert.deepEqual(s.containers[1]!.command, spec(obj).containers[0]!.command, 'the app command is untouched');
    const f = r.report.findings.find((x) => x.code === 'job_exit_watch');
    assert.ok(f, JSON.stringify(r.report.findings));
    assert.match(findingSentence(f), /proxy leaves once the app's processes are gone/);
    assert.deepEqual(uninjectObject(r.object).object, obj);
  }
});

test('--job-exit await wraps each app command in `ebb await --shutdown --` and enables /shutdown', () => {
  for (const [obj, spec] of [[JOB, jobSpec], [CRON, cronSpec]] as const) {
    const r = injectObject(obj, cfg({ mode: 'classic', 'job-exit': 'await' }));
    const s = spec(r.object);
    assert.equal(s.shareProcessNamespace, undefined);
    assert.equal(proxyEnv(s).EBB_SHUTDOWN_ENDPOINT, 'true');
    assert.equal(proxyEnv(s).EBB_EXIT_WHEN_APP_EXITS, undefined);
    assert.deepEqual(s.containers[1]!.command, ['ebb', 'await', '--shutdown', '--timeout', '2m', '--', ...spec(obj).containers[0]!.command!]);
    const f = r.report.findings.find((x) => x.code === 'job_exit_await');
    assert.ok(f);
    assert.match(findingSentence(f), /ebb binary must be on the PATH/);
    assert.deepEqual(uninjectObject(r.object).object, obj);
  }
});

test('--job-exit await refuses a container without command, naming it', () => {
  const noCmd = structuredClone(JOB) as { spec: { template: { spec: Spec } } };
  noCmd.spec.template.spec.containers.push({ name: 'helper' });
  const r = inject(noCmd, cfg({ mode: 'classic', 'job-exit': 'await' }));
  assert.equal(r.report.status, 'refused');
  assert.equal(r.report.reason, 'job_exit_await_no_command');
  assert.deepEqual(r.patch, []);
  assert.match(reasonSentence(r.report.reason, r.report.reasonParams), /container "helper" sets no command/);
  // The default (watch) needs no command.
  assert.equal(inject(noCmd, cfg({ mode: 'classic' })).report.status, 'injected');
});

test('--job-exit await with a non-default admin port passes it to ebb await', () => {
  const s = jobSpec(injectObject(JOB, cfg({ mode: 'classic', 'job-exit': 'await', 'admin-port': '5191', 'await-timeout': '30s' })).object);
  assert.deepEqual(s.containers[1]!.command, ['ebb', 'await', '--shutdown', '--port', '5191', '--timeout', '30s', '--', 'python3', 'report.py']);
});

test('--job-exit none changes nothing for the Job and warns that it will not complete', () => {
  const r = injectObject(JOB, cfg({ mode: 'classic', 'job-exit': 'none' }));
  const s = jobSpec(r.object);
  assert.equal(s.shareProcessNamespace, undefined);
  assert.deepEqual(proxyEnv(s).EBB_EXIT_WHEN_APP_EXITS, undefined);
  const f = r.report.findings.find((x) => x.code === 'job_exit_none');
  assert.equal(f?.severity, 'warning');
  assert.match(findingSentence(f!), /the Job will not complete/);
});

test('native mode Jobs and classic Deployments get none of this', () => {
  for (const jobExit of ['watch', 'await', 'none']) {
    const native = injectObject(JOB, cfg({ 'job-exit': jobExit }));
    assert.equal(jobSpec(native.object).shareProcessNamespace, undefined);
    assert.ok(!native.report.findings.some((f) => f.code.startsWith('job_exit')));
    const deploy = injectObject(DEPLOY, cfg({ mode: 'classic', 'job-exit': jobExit }));
    const d = jobSpec(deploy.object);
    assert.equal(d.shareProcessNamespace, undefined);
    assert.deepEqual(d.containers[1]!.command, ['/web']);
    assert.equal(proxyEnv(d).EBB_EXIT_WHEN_APP_EXITS, undefined);
    assert.ok(!deploy.report.findings.some((f) => f.code.startsWith('job_exit')));
  }
});

test('a template that already shares its PID namespace keeps it on uninject; an explicit false comes back', () => {
  for (const before of [true, false]) {
    const o = structuredClone(JOB) as { spec: { template: { spec: Spec } } };
    o.spec.template.spec.shareProcessNamespace = before;
    const r = injectObject(o, cfg({ mode: 'classic' }));
    assert.equal(jobSpec(r.object).shareProcessNamespace, true);
    assert.deepEqual(uninjectObject(r.object).object, o);
  }
});

test('re-injecting is idempotent in every choice, and switching choices undoes the previous one', () => {
  for (const jobExit of ['watch', 'await', 'none']) {
    const c = cfg({ mode: 'classic', 'job-exit': jobExit });
    const once = injectObject(CRON, c).object;
    assert.deepEqual(injectObject(once, c).object, once);
  }
  const awaited = injectObject(JOB, cfg({ mode: 'classic', 'job-exit': 'await' })).object;
  const watched = injectObject(awaited, cfg({ mode: 'classic', 'job-exit': 'watch' })).object;
  assert.deepEqual(watched, injectObject(JOB, cfg({ mode: 'classic' })).object);
});

test('config.ebb.io/job-exit on the template overrides the flag; a bad value is refused', () => {
  const o = structuredClone(JOB) as { spec: { template: { metadata?: Record<string, unknown> } } };
  o.spec.template.metadata = { annotations: { 'config.ebb.io/job-exit': 'await' } };
  assert.ok(inject(o, cfg({ mode: 'classic' })).report.findings.some((f) => f.code === 'job_exit_await'));
  o.spec.template.metadata = { annotations: { 'config.ebb.io/job-exit': 'sometimes' } };
  const r = inject(o, cfg({ mode: 'classic' }));
  assert.equal(r.report.status, 'refused');
  assert.match(reasonSentence(r.report.reason!, r.report.reasonParams), /must be watch, await or none/);
});

test('check: an injected classic Job passes in watch and await, and is flagged when nothing ends the proxy', () => {
  for (const jobExit of ['watch', 'await']) {
    const injected = injectObject(JOB, cfg({ mode: 'classic', 'job-exit': jobExit })).object;
    assert.ok(!check(injected, cfg()).findings.some((f) => f.code.startsWith('job_')), jobExit);
  }
  const none = injectObject(JOB, cfg({ mode: 'classic', 'job-exit': 'none' })).object;
  assert.ok(check(none, cfg()).findings.some((f) => f.code === 'job_will_not_complete'));
  const lostShare = injectObject(JOB, cfg({ mode: 'classic' })).object as { spec: { template: { spec: Spec } } };
  delete lostShare.spec.template.spec.shareProcessNamespace;
  const f = check(lostShare, cfg()).findings.find((x) => x.code === 'job_exit_watch_without_shared_pid');
  assert.equal(f?.severity, 'error');
  const native = injectObject(JOB, cfg()).object;
  assert.ok(!check(native, cfg()).findings.some((x) => x.code.startsWith('job_')));
});
