/**
 * `ebb lab` checks every flag before it starts anything, and lists every bad one at once (exit 2,
 * no stack trace): a bad --latency used to end in the demo app's stack trace. It runs `ebb check`'s
 * rules on the pod spec it runs and prints their findings above its table: a run that loses
 * nothing on this machine can still be a setup a cluster's kubelet cuts short.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb } from '../helpers.js';
import '../../src/cli/lab.js'; // registers every scenario
import { scenario } from '../../src/lab/scenarios.js';
import { checkPodSpec, runScenario } from '../../src/lab/run.js';
import { DEFAULT_SETTINGS } from '../../src/lab/settings.js';
import { describeProxyLog, renderHtml, renderReport, summarize, type ScenarioRun } from '../../src/lab/report.js';

test('bad lab flags: each one listed, exit 2, no stack trace, nothing started', async () => {
  const r = await runEbb(['lab', '--latency', 'foo', '--rps', '-1', '--fixed-wait', '1.5', '--auto', 'auto:1', '--html', '/nonexistent-dir/x.html', '--client-model', 'teleport']);
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at \S+ \(/, 'no stack trace');
  for (const flag of ['--latency "foo"', '--rps "-1"', '--fixed-wait "1.5"', '--auto "auto:1"', '--html /nonexistent-dir/x.html', '--client-model "teleport"']) {
    assert.ok(r.stderr.includes(flag), `${flag} is named:\n${r.stderr}`);
  }
  assert.doesNotMatch(r.stderr, /running|t0 \+/, 'nothing ran');
  const one = await runEbb(['lab', '--latency', '10ms:0']);
  assert.equal(one.code, 2);
  assert.match(one.stderr, /--latency "10ms:0": .*bad number/);
});

test('classic-wait with --fixed-wait 40 (grace 30): ebb check says wait_exceeds_grace, and the report shows it above the table', () => {
  const manifest = scenario('classic-wait')!.manifest!({ ...DEFAULT_SETTINGS, fixedWait: 40 });
  const checked = checkPodSpec(manifest);
  assert.ok(checked.some((f) => f.code === 'wait_exceeds_grace' && f.severity === 'error'), JSON.stringify(checked));
  const run: ScenarioRun = { result: summarize('classic-wait', [], [], {}), records: [], events: [], description: 'the seed\'s recipe', notes: [], checked };
  const text = renderReport([run]);
  const at = text.indexOf('wait_exceeds_grace');
  assert.ok(at > 0 && at < text.indexOf('requests'), `the finding comes before the table:\n${text}`);
  assert.match(text, /‼ error\s+wait_exceeds_grace: proxy wait 40s exceeds terminationGracePeriodSeconds 30s/);
  assert.match(text, /fix: raise terminationGracePeriodSeconds/);
  const compare = renderReport([run, { ...run, result: summarize('native', [], [], {}), checked: [] }]);
  assert.ok(compare.indexOf('classic-wait: ebb check') < compare.indexOf('requests'), compare);
  assert.match(renderHtml([run]), /ebb check on this pod spec<\/h3>.*wait_exceeds_grace/s);
});

test('the default presets pass ebb check, except those built to show a failure', () => {
  const codes = (name: string): string[] => checkPodSpec(scenario(name)!.manifest!(DEFAULT_SETTINGS)).map((f) => f.code);
  for (const name of ['classic-wait', 'classic-auto', 'native', 'native-app-wait']) assert.deepEqual(codes(name), [], name);
  assert.ok(codes('classic-no-wait').includes('no_proxy_wait'));
});

test('a scenario with its own run() reports its start to the progress line (the job column of --compare)', async () => {
  const seen: string[] = [];
  const own = { name: 'own-flow', description: () => 'x', run: async () => ({ result: summarize('own-flow', [], [], {}), records: [], events: [], description: 'x', notes: [] }) };
  await runScenario(own, DEFAULT_SETTINGS, { deadline: Infinity, index: 6, of: 6, onProgress: (p) => seen.push(`${p.scenario} ${p.index}/${p.of} ${String(p.elapsed)}`) });
  assert.deepEqual(seen, ['own-flow 6/6 null']);
});

test('the old proxy\'s shutdown lines become sentences in the notes, not raw JSON', () => {
  const started = describeProxyLog({ level: 30, msg: 'shutdown started', reason: 'SIGTERM', waitBeforeExit: { mode: 'auto', minSeconds: 2, quietSeconds: 2, maxSeconds: 19 }, drainTimeoutSeconds: 10, inFlight: { requests: 15, handles: { 'inbound:http1': 47, listener: 1 } } });
  assert.equal(started, 'shutdown started (SIGTERM): wait auto (min 2 s, quiet 2 s, max 19 s), drain timeout 10 s; in flight: 15 requests, 47 inbound:http1, 1 listener');
  const done = describeProxyLog({ msg: 'shutdown complete', reason: 'SIGTERM', waitEndedBy: 'quiet', drainEndedBy: 'idle', waitingMs: 4012, drainingMs: 140, totalMs: 4152, servedWhileWaiting: 812, inFlightAtTrigger: { requests: 3, handles: {} }, inFlightAtDraining: { requests: 0, handles: {} }, forcedCloses: 0 });
  assert.match(done, /^shutdown complete \(SIGTERM\): waited 4\.01 s \(ended by quiet\), drained 0\.14 s \(ended by idle\)/);
  for (const s of [started, done]) assert.doesNotMatch(s, /[{}"]/);
});
