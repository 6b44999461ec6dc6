import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, resolveInjectConfig, type Finding } from '../../src/inject/index.js';
import { planOf } from '../../src/inject/termination.js';
import { timelineLines } from '../../src/inject/timeline.js';
import { runEbb } from '../helpers.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { config } = resolveInjectConfig({}, { injectedBy: 'test' });

/** An injected-looking Deployment (ebb's annotation) with the given pod spec. */
function deployment(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' },
    spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' }, annotations: { 'ebb.io/injected-by': 'ebb inject test' } }, spec } },
  };
}
const proxy = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'ebb-proxy', image: 'ebb:1', env: [{ name: 'EBB_DRAIN_TIMEOUT', value: '5' }], ...extra });
const codes = (fs: readonly Finding[]): string[] => fs.map((f) => `${f.severity}:${f.code}`);

test('a preStop still running at G is abandoned: TERM at G, SIGKILL at G+2 (not "killed at G before TERM")', () => {
  const r = check(deployment({
    terminationGracePeriodSeconds: 30,
    containers: [proxy({ lifecycle: { preStop: { sleep: { seconds: 10 } } } }), { name: 'app', image: 'a', lifecycle: { preStop: { exec: { command: ['sleep', '40'] } } } }],
  }), config);
  const plan = planOf(r.timing!);
  const app = plan.find((p) => p.name === 'app')!;
  assert.equal(app.hookEnd, 30);
  assert.equal(app.hookAbandoned, true);
  assert.equal(app.termAt, 30);
  assert.equal(app.stopGraceSeconds, 2);
  const f = r.findings.find((x) => x.code === 'app_prestop_exceeds_grace')!;
  assert.equal(f.params.kill, 32);
  const lines = timelineLines(r.timing!).join('\n');
  assert.match(lines, /preStop sleep 40s abandoned at 30s \(grace period\): TERM at 30s, 2 s before SIGKILL/);
  assert.doesNotMatch(lines, /killed at \d+s before TERM/);
});

test('a sleep action longer than the grace period is an error: the API server rejects it', () => {
  const r = check(deployment({
    terminationGracePeriodSeconds: 20,
    containers: [proxy({ lifecycle: { preStop: { sleep: { seconds: 5 } } } }), { name: 'app', image: 'a', lifecycle: { preStop: { sleep: { seconds: 25 } } } }],
  }), config);
  const f = r.findings.find((x) => x.code === 'app_prestop_exceeds_grace')!;
  assert.equal(f.severity, 'error');
  assert.equal(f.params.rejected, 'api-server');
});

test('a native sidecar\'s own preStop runs from t0: TERM at max(W, the app\'s exit); a wait after TERM is what is wasted', () => {
  const spec = (w: number, s: number): Record<string, unknown> => ({
    terminationGracePeriodSeconds: 30,
    initContainers: [proxy({ restartPolicy: 'Always', lifecycle: { preStop: { sleep: { seconds: w } } } })],
    containers: [{ name: 'app', image: 'a', lifecycle: { preStop: { sleep: { seconds: s } } } }],
  });
  for (const [w, s, term] of [[8, 3, 8], [3, 8, 8]] as const) {
    const r = check(deployment(spec(w, s)), config);
    const p = planOf(r.timing!).find((x) => x.name === 'ebb-proxy')!;
    assert.equal(p.termAt, term, `W=${w} S=${s}`);
    assert.ok(!codes(r.findings).includes('warning:wait_ignored_in_native'), `W=${w}: ${codes(r.findings).join(', ')}`);
  }
  const env = check(deployment({ ...spec(0, 3), initContainers: [proxy({ restartPolicy: 'Always', env: [{ name: 'EBB_WAIT_BEFORE_EXIT', value: '4' }] })] }), config);
  assert.ok(codes(env.findings).includes('warning:wait_ignored_in_native'));
});

test('ebb check --grace-period S checks a deletion with an override', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-grace-'));
  try {
    const file = join(dir, 'd.yaml');
    writeFileSync(file, JSON.stringify(deployment({
      terminationGracePeriodSeconds: 60,
      containers: [proxy({ lifecycle: { preStop: { sleep: { seconds: 10 } } } }), { name: 'app', image: 'a', lifecycle: { preStop: { sleep: { seconds: 5 } } } }],
    })));
    const plain = await runEbb(['check', file]);
    assert.equal(plain.code, 0, plain.stdout);
    const r = await runEbb(['check', '--grace-period', '8', file]);
    assert.match(r.stdout, /deleted with --grace-period 8/);
    assert.match(r.stdout, /grace period 8s \(--grace-period/);
    // The proxy's 10 s preStop no longer fits: abandoned at 8 s.
    assert.match(r.stdout, /wait_exceeds_grace/);
    assert.equal(r.code, 1);
    const bad = await runEbb(['check', '--grace-period', 'soon', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--grace-period "soon" must be whole seconds >= 0/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('ebb lab --grace-period takes whole seconds >= 0', async () => {
  const r = await runEbb(['lab', '--grace-period', '2.5']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--grace-period "2.5" must be an integer >= 0/);
});

test('check warns on a lifecycle.stopSignal on ebb-proxy that it does not drain on (KEP-4960)', () => {
  const withSignal = (sig: string) => check(deployment({
    containers: [proxy({ lifecycle: { stopSignal: sig } }), { name: 'app', image: 'a' }],
  }), config).findings.map((f) => f.code);
  assert.ok(withSignal('SIGUSR1').includes('stop_signal_not_drained'));
  assert.ok(!withSignal('SIGQUIT').includes('stop_signal_not_drained'));
  assert.ok(!withSignal('SIGTERM').includes('stop_signal_not_drained'));
});
