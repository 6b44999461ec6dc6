/**
 * Registers the `job` scenario (issue 5) with the lab: `ebb lab --scenario job`, and a column of
 * `ebb lab --compare`. It does not delete a pod under load like the other scenarios: it runs an
 * injected Job's pod in each setup (see job.ts) and reports whether and when the pod completed,
 * and whether the app's outbound calls through the proxy all succeeded. t0 = the app's start.
 */
import type { KubeletEvent } from './kubelet.js';
import type { Outcome, RequestRecord } from './load.js';
import { summarize, type ScenarioRun } from './report.js';
import { registerScenario } from './scenarios.js';
import { DEFAULT_JOB_OPTIONS, JOB_SETUPS, jobTable, runJobSetup, type JobCall, type JobSetupResult } from './job.js';

const SHORT: Record<string, string> = { 'native': 'native', 'classic-watch': 'watch', 'classic-await': 'await', 'classic-none': 'none' };

function outcome(c: JobCall): Outcome {
  if (c.ok) return 'ok';
  if (c.status !== undefined && c.status >= 500) return '5xx';
  if (c.error === 'ECONNREFUSED') return 'refused';
  if (c.error === 'timeout') return 'timeout';
  return 'reset';
}

export function jobScenarioRun(results: JobSetupResult[], transparent = false): ScenarioRun {
  const records: RequestRecord[] = [];
  const events: KubeletEvent[] = [];
  results.forEach((r, i) => {
    if (r.skipped) return;
    for (const c of r.callRecords) {
      records.push({ client: i, kind: 'h1-new-connection', target: 'old', start: c.start, end: c.end, outcome: outcome(c), status: c.status, error: c.error });
    }
    const s = SHORT[r.setup] ?? r.setup;
    if (r.appExitSeconds !== null) events.push({ at: r.appExitSeconds * 1000, type: 'exit', container: `${s}/app` });
    if (r.setup === 'native' && r.appExitSeconds !== null) events.push({ at: (r.exitSeenSeconds ?? r.appExitSeconds) * 1000, type: 'TERM', container: `${s}/proxy`, detail: 'native sidecar: TERM once the kubelet has seen the app exit (its next PLEG relist)' });
    if (r.proxyExitSeconds !== null) events.push({ at: r.proxyExitSeconds * 1000, type: 'exit', container: `${s}/proxy` });
    else if (r.appExitSeconds !== null && r.waitedSeconds !== undefined) {
      // The pod never completed: the lab gave up after waiting and killed the proxy.
      events.push({ at: (r.appExitSeconds + r.waitedSeconds) * 1000, type: 'KILL', container: `${s}/proxy`, detail: 'the lab gave up waiting for the pod to complete' });
    }
  });
  const summary = results.map(({ callRecords: _c, proxyLines: _p, ...rest }) => rest);
  const result = summarize('job', records, events, { job: summary, calls: DEFAULT_JOB_OPTIONS.calls, spacingMs: DEFAULT_JOB_OPTIONS.spacingMs });
  const notes: string[] = [];
  for (const r of results) {
    if (r.skipped) notes.push(`${r.setup}: skipped: ${r.skipped}`);
    for (const n of r.notes) notes.push(`${r.setup}: ${n}`);
  }
  if (results.some((r) => !r.skipped && !r.pidNamespace)) notes.push('no PID namespace (not root): the pods ran without shareProcessNamespace');
  notes.push(transparent
    ? 'each pod ran in a network namespace of its own behind `ebb init`\'s rules (--transparent): the app called the target by address and its calls went through the proxy\'s outbound listener'
    : 'the app\'s calls go out through its pod\'s proxy (a forwarding listener to the target stands in for transparent outbound, which needs `ebb init`\'s iptables rules: see --transparent)');
  return {
    result,
    records,
    events,
    description: 'a Job: the app makes outbound calls through its proxy for a few seconds, then exits 0. Does the pod complete? native; classic + exit watch; classic + ebb await; classic with neither (t0 = the app\'s start)',
    notes,
    tables: [jobTable(results)],
  };
}

registerScenario({
  name: 'job',
  description: () => 'a Job whose app makes outbound calls through the proxy, then exits 0: does the pod complete (native, classic + watch, classic + await, classic + none)?',
  run: async (ctx) => {
    const results: JobSetupResult[] = [];
    const transparent = ctx.settings.transparent;
    const { gracePeriod, plegPeriod } = ctx.settings;
    for (const s of JOB_SETUPS) results.push(await runJobSetup(s, { ...DEFAULT_JOB_OPTIONS, transparent, plegPeriod, ...(gracePeriod === undefined ? {} : { gracePeriod }) }));
    return jobScenarioRun(results, transparent);
  },
}, { compare: true });
