import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, renderReport, renderHtml, type ScenarioRun } from '../../src/lab/report.js';
import type { RequestRecord } from '../../src/lab/load.js';
import type { KubeletEvent } from '../../src/lab/kubelet.js';

const rec = (start: number, target: 'old' | 'new', outcome: RequestRecord['outcome'], status?: number): RequestRecord =>
  ({ client: 0, kind: 'h1-keepalive', target, start, end: start + 5, outcome, status });

const events: KubeletEvent[] = [
  { at: 0, type: 'delete' },
  { at: 0, type: 'TERM', container: 'ebb-proxy' },
  { at: 0, type: 'preStop', container: 'app', detail: 'exec ["sleep","7"]' },
  { at: 300, type: 'exit', container: 'ebb-proxy' },
  { at: 7000, type: 'preStopDone', container: 'app' },
  { at: 7000, type: 'TERM', container: 'app' },
  { at: 7100, type: 'exit', container: 'app' },
  { at: 7100, type: 'podGone' },
];
const records = [
  rec(-1000, 'old', 'ok', 200), rec(200, 'old', 'ok', 200), rec(395, 'old', 'refused'), rec(900, 'old', '5xx', 502),
  rec(1495, 'old', 'reset'), rec(2000, 'new', 'ok', 200),
];

test('one scenario as JSON has exactly the fields of the contract, times in seconds from t0', () => {
  const r = summarize('classic-no-wait', records, events, { rps: 10 });
  assert.deepEqual(Object.keys(r).sort(), ['config', 'firstFailureSeconds', 'lastArrivalSeconds', 'name', 'phases', 'podGoneSeconds', 'requests']);
  assert.deepEqual(Object.keys(r.requests).sort(), ['byOutcome', 'failed', 'noEndpoint', 'ok', 'total']);
  assert.deepEqual(r.requests, { total: 6, ok: 3, failed: 3, noEndpoint: 0, byOutcome: { ok: 3, refused: 1, reset: 1, '5xx': 1, timeout: 0, 'no-endpoint': 0 } });
  assert.equal(r.firstFailureSeconds, 0.4);
  assert.equal(r.phases.lastFailureSeconds, 1.5);
  // The 502 came from the old pod: it reached it.
  assert.equal(r.lastArrivalSeconds, 0.9);
  assert.equal(r.podGoneSeconds, 7.1);
  assert.deepEqual(r.phases.containers.app, { preStop: { start: 0, end: 7, detail: 'exec ["sleep","7"]' }, term: 7, kill: null, exit: 7.1 });
});

test('the terminal report has the table, the phases and a timeline with the marks', () => {
  const run: ScenarioRun = { result: summarize('x', records, events, {}), records, events, description: 'test', notes: [] };
  const text = renderReport([run]);
  assert.match(text, /lost \(failed\)\s+3/);
  assert.match(text, /old pod gone \(s\)\s+7\.10/);
  const appRow = text.split('\n').find((l) => l.startsWith('app '))!;
  assert.match(appRow, /P-+T?=*X/);
  assert.match(text.split('\n').find((l) => l.startsWith('ebb-proxy'))!, /[TX]/);
  const html = renderHtml([run]);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<svg /);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
});
