/// <reference lib="dom" />
/**
 * The lab's HTML report, rendered by a real browser (Debian's chromium, driven by playwright-core;
 * no browser download) at 1400 px: no two chart labels intersect, none leaves its chart, the page
 * does not scroll sideways, labels are at a readable size, there is a legend, the Job table is a
 * table and the notes are readable list items. The runs are built like the lab's own: a
 * classic-no-wait pod with its red block of failures, a native pod, and the job scenario, whose
 * four setups' exits fall at the same moment (what made five labels overlap at 3 s) and whose
 * proxies are killed at 18 s (what was cut at the right edge). It saves a screenshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHtml, summarize, type ScenarioRun } from '../../src/lab/report.js';
import { jobScenarioRun } from '../../src/lab/job-scenario.js';
import type { KubeletEvent } from '../../src/lab/kubelet.js';
import type { RequestRecord } from '../../src/lab/load.js';
import type { JobSetupResult } from '../../src/lab/job.js';

const CHROMIUM = process.env.EBB_TEST_CHROMIUM || '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
/** Where the screenshot goes (overwritten by each run), for the report of a change. */
export const SCREENSHOT = join(tmpdir(), 'ebb-lab-report-1400.png');

/** 200 req/s from -2 s to 12 s; requests to the old pod between `failFrom` and `failTo` fail. */
function load(failFrom: number, failTo: number): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (let t = -2000, i = 0; t < 12_000; t += 5, i++) {
    const bad = t >= failFrom && t < failTo && i % 3 !== 0;
    out.push({ client: i % 24, kind: 'h1-keepalive', target: t < 4000 ? 'old' : 'new', start: t, end: t + 12, outcome: bad ? 'refused' : 'ok', ...(bad ? { error: 'ECONNREFUSED' } : { status: 200 }) });
  }
  return out;
}

function podRun(name: string, description: string, events: KubeletEvent[], records: RequestRecord[]): ScenarioRun {
  return {
    result: summarize(name, records, events, { rps: 200 }), records, events, description,
    notes: [
      'old proxy: shutdown complete (SIGTERM): waited 0.00 s (ended by elapsed), drained 0.01 s (ended by idle), 0.01 s in all; 0 requests served while waiting; in flight at the trigger: 3 requests, 2 inbound:http1; when draining began: 3 requests; 0 closed by force',
      `a long note without spaces, as a path or a manifest line can be: ${'/var/run/secrets/kubernetes.io/serviceaccount/'.repeat(6)}`,
    ],
  };
}

function jobResult(setup: JobSetupResult['setup'], over: Partial<JobSetupResult>): JobSetupResult {
  return {
    setup, completed: true, appExitSeconds: 3, appExitCode: 0, proxyExitSeconds: 3.02, proxyExitCode: 0, completedSeconds: 3.02,
    calls: { total: 6, ok: 6, failed: 0 }, targetReceived: 6, pidNamespace: true, notes: [], proxyLines: [],
    callRecords: Array.from({ length: 6 }, (_, i) => ({ i, ok: true, status: 200, start: i * 500, end: i * 500 + 8 })),
    ...over,
  };
}

function runs(): ScenarioRun[] {
  const noWait = podRun('classic-no-wait', 'classic sidecar, no proxy wait, no app preStop (Linkerd 2.10\'s default)', [
    { at: 0, type: 'delete' }, { at: 0, type: 'TERM', container: 'ebb-proxy' }, { at: 0, type: 'TERM', container: 'app' },
    { at: 20, type: 'exit', container: 'ebb-proxy' }, { at: 35, type: 'exit', container: 'app' }, { at: 40, type: 'podGone' },
  ], load(0, 5000));
  const native = podRun('native', 'native sidecar, app preStop sleep action N', [
    { at: 0, type: 'delete' }, { at: 0, type: 'preStop', container: 'app', detail: 'sleep 8' }, { at: 0, type: 'preStop', container: 'ebb-proxy-with-a-long-container-name', detail: 'sleep 8' },
    { at: 8000, type: 'preStopDone', container: 'app' }, { at: 8000, type: 'TERM', container: 'app' }, { at: 8100, type: 'exit', container: 'app' },
    { at: 8000, type: 'preStopDone', container: 'ebb-proxy-with-a-long-container-name' }, { at: 8100, type: 'TERM', container: 'ebb-proxy-with-a-long-container-name' },
    { at: 8200, type: 'exit', container: 'ebb-proxy-with-a-long-container-name' }, { at: 8200, type: 'podGone' },
  ], load(1e9, 1e9));
  const job = jobScenarioRun([
    jobResult('native', {}),
    jobResult('classic-watch', { proxyExitSeconds: 3.05, completedSeconds: 3.05 }),
    jobResult('classic-await', {}),
    jobResult('classic-none', { completed: false, proxyExitSeconds: null, proxyExitCode: null, completedSeconds: null, waitedSeconds: 15 }),
  ]);
  return [noWait, native, job];
}

test('the HTML report in Chromium at 1400 px: labels apart and inside their charts, no sideways scroll, a legend, tables and readable notes', { skip }, async (t) => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'ebb-lab-html-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--headless'],
  });
  try {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(runs()));
    const page = await browser.newPage({ viewport: { width: 1400, height: 2400 } });
    // The report is self-contained: any request but the file itself is a failure.
    const requests: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto(pathToFileURL(file).href);
    const m = await page.evaluate(() => {
      type Box = { left: number; right: number; top: number; bottom: number; text: string };
      const box = (e: Element, text: string): Box => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, text }; };
      const charts = [...document.querySelectorAll('svg.chart')].map((svg) => ({
        chart: box(svg, ''),
        labels: [...svg.querySelectorAll('text')].map((el) => ({ ...box(el, (el.textContent ?? '').trim()), size: parseFloat(getComputedStyle(el).fontSize) })),
      }));
      const notes = [...document.querySelectorAll('.notes li')].map((li) => box(li, li.textContent ?? ''));
      return {
        charts,
        notes,
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        legendItems: document.querySelectorAll('.legend li').length,
        legendText: document.querySelector('.legend')?.textContent ?? '',
        tables: [...document.querySelectorAll('table')].map((tb) => ({ caption: tb.querySelector('caption')?.textContent ?? '', rows: tb.querySelectorAll('tbody tr').length, right: tb.getBoundingClientRect().right })),
        paragraphsWithTables: [...document.querySelectorAll('p')].filter((p) => /pod completed/.test(p.textContent ?? '')).length,
      };
    });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);

    assert.deepEqual(requests, [], 'the page loads nothing from the network');
    assert.ok(m.scrollWidth <= m.innerWidth, `the page scrolls sideways: ${m.scrollWidth} px wide in a ${m.innerWidth} px window`);
    assert.equal(m.charts.length, 3);
    const problems: string[] = [];
    const eps = 0.5;
    for (const [ci, c] of m.charts.entries()) {
      assert.ok(c.labels.length >= 5, `chart ${ci}: only ${c.labels.length} labels`);
      for (const l of c.labels) {
        if (l.size < 12) problems.push(`chart ${ci}: "${l.text}" is ${l.size} px, below 12 px`);
        if (l.bottom - l.top < 11) problems.push(`chart ${ci}: "${l.text}" renders ${Math.round(l.bottom - l.top)} px tall (the chart is scaled down)`);
        if (l.left < c.chart.left - eps || l.right > c.chart.right + eps || l.top < c.chart.top - eps || l.bottom > c.chart.bottom + eps) {
          problems.push(`chart ${ci}: "${l.text}" leaves the chart (${Math.round(l.left)}–${Math.round(l.right)} × ${Math.round(l.top)}–${Math.round(l.bottom)} in ${Math.round(c.chart.left)}–${Math.round(c.chart.right)} × ${Math.round(c.chart.top)}–${Math.round(c.chart.bottom)})`);
        }
      }
      for (let i = 0; i < c.labels.length; i++) {
        for (let j = i + 1; j < c.labels.length; j++) {
          const a = c.labels[i]!; const b = c.labels[j]!;
          if (a.left < b.right - eps && b.left < a.right - eps && a.top < b.bottom - eps && b.top < a.bottom - eps) problems.push(`chart ${ci}: "${a.text}" and "${b.text}" overlap`);
        }
      }
      if (c.chart.right > m.innerWidth) problems.push(`chart ${ci} is cut at the window's edge`);
    }
    assert.deepEqual(problems, [], `\n${problems.join('\n')}\n`);
    assert.ok(m.legendItems >= 6 && /failed/.test(m.legendText) && /KILL/.test(m.legendText), `legend: ${m.legendText}`);
    const jobTable = m.tables.find((tb) => /each Job pod completed/.test(tb.caption));
    assert.ok(jobTable, `the job results are a table: ${JSON.stringify(m.tables.map((tb) => tb.caption))}`);
    assert.ok(jobTable.rows >= 5);
    assert.equal(m.paragraphsWithTables, 0, 'no table squeezed into a paragraph');
    for (const tb of m.tables) assert.ok(tb.right <= m.innerWidth, `table "${tb.caption}" is cut`);
    assert.ok(m.notes.length >= 4);
    for (const n of m.notes) {
      assert.ok(n.right <= m.innerWidth, `note runs off the page: ${n.text.slice(0, 60)}`);
      assert.doesNotMatch(n.text, /^old proxy: .*\{"/, 'notes are text, not raw JSON');
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
