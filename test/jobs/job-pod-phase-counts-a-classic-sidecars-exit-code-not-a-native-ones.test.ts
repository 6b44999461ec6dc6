import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { JobPodPlan } from '../../src/lab/job-pod-main.js';
import { freePort } from '../../src/lab/pod.js';

// The Job pod runner (the lab's kubelet for a Job's pod) with a stand-in proxy: a process that
// answers /ready on its admin port and, on TERM, exits with the code it is given (or ignores TERM).
const JOB_POD = fileURLToPath(new URL('../../src/lab/job-pod-main.js', import.meta.url));

function proxyArgv(port: number, o: { onTerm?: number; ignoreTerm?: boolean; exitAfterMs?: number; code?: number }): string[] {
  const script = `
    const http = require('node:http');
    const s = http.createServer((q, r) => (q.url === '/slow' ? setTimeout(() => r.end('slow'), 1200) : r.end('ok'))).listen(${port}, '127.0.0.1');
    process.on('SIGTERM', () => { ${o.ignoreTerm ? '' : `s.close(); process.exit(${o.onTerm ?? 0});`} });
    ${o.exitAfterMs !== undefined ? `setTimeout(() => process.exit(${o.code ?? 0}), ${o.exitAfterMs});` : ''}
    setInterval(() => {}, 1000);`;
  return [process.execPath, '-e', script];
}

type Ev = { ev: string; t: number | null; [k: string]: unknown };

async function runPod(plan: JobPodPlan): Promise<Ev[]> {
  const child = spawn(process.execPath, [JOB_POD, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Ev[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => { try { events.push(JSON.parse(l) as Ev); } catch { /* not JSON */ } });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await new Promise((r) => child.once('close', r));
  clearTimeout(killer);
  return events;
}

async function plan(mode: JobPodPlan['mode'], proxy: Parameters<typeof proxyArgv>[1], over: Partial<JobPodPlan> = {}): Promise<JobPodPlan> {
  const adminPort = await freePort();
  return {
    mode, adminPort, proxy: { argv: proxyArgv(adminPort, proxy), env: {} },
    app: { argv: [process.execPath, '-e', 'setTimeout(() => process.exit(0), 300)'], env: {} },
    graceMs: 30_000, plegPeriodMs: 0, completeWaitMs: 20_000, ...over,
  };
}

const get = (events: Ev[], ev: string): Ev => {
  const e = events.find((x) => x.ev === ev);
  assert.ok(e, `no ${ev} event in ${JSON.stringify(events)}`);
  return e;
};

test('native: a sidecar that exits 3 on TERM does not fail the pod (its exit code is not counted), and is reported', async () => {
  const events = await runPod(await plan('native', { onTerm: 3 }));
  assert.equal(get(events, 'app-exit').exitCode, 0);
  assert.equal(get(events, 'proxy-exit').exitCode, 3);
  assert.equal(get(events, 'pod-complete').phase, 'Succeeded');
});

test('native: a sidecar SIGKILLed at the end of its grace exits 137, and the pod still succeeds', async () => {
  const events = await runPod(await plan('native', { ignoreTerm: true }, { graceMs: 2000 }));
  assert.equal(get(events, 'proxy-term').graceMs, 2000);
  assert.ok(events.some((e) => e.ev === 'proxy-kill'));
  assert.equal(get(events, 'proxy-exit').exitCode, 137);
  assert.equal(get(events, 'pod-complete').phase, 'Succeeded');
});

test('classic: the sidecar is a regular container, so its exit code 3 fails the pod', async () => {
  const events = await runPod(await plan('classic', { exitAfterMs: 1500, code: 3 }));
  assert.equal(get(events, 'app-exit').exitCode, 0);
  assert.equal(get(events, 'proxy-exit').exitCode, 3);
  assert.equal(get(events, 'pod-complete').phase, 'Failed');
});

test('classic: app and sidecar both exit 0: the pod succeeds', async () => {
  const events = await runPod(await plan('classic', { exitAfterMs: 1500, code: 0 }));
  assert.equal(get(events, 'pod-complete').phase, 'Succeeded');
});

test('native: the sidecar gets TERM only at the kubelet\'s next PLEG relist after the app exited (the modelled delay, from the runner\'s clock)', async () => {
  const events = await runPod(await plan('native', { onTerm: 0 }, { plegPeriodMs: 1000 }));
  const seen = get(events, 'app-exit-seen');
  assert.equal(seen.plegPeriodMs, 1000);
  const delay = Number(seen.delayMs);
  assert.ok(delay > 0 && delay <= 1000, `delay ${delay} ms is not within one relist period`);
  const k = Number(seen.relist);
  assert.ok(Math.abs(k - Math.round(k)) < 1e-6 && Math.round(k) >= 1, `seen at relist ${k}, not at a relist`);
  // The TERM comes after the kubelet saw the exit, not with it.
  const order = events.map((e) => e.ev);
  assert.ok(order.indexOf('app-exit') < order.indexOf('app-exit-seen') && order.indexOf('app-exit-seen') < order.indexOf('proxy-term'), order.join(' '));
});

test('native: the kubelet runs the sidecar\'s own httpGet preStop before its TERM, and the TERM\'s grace is what the hook left (whole seconds, at least 2 s)', async () => {
  const p = await plan('native', { onTerm: 0 }, { graceMs: 5000 });
  const events = await runPod({ ...p, proxyPreStop: { port: p.adminPort, path: '/slow' } });
  const order = events.map((e) => e.ev);
  assert.ok(order.indexOf('app-exit-seen') < order.indexOf('proxy-prestop') && order.indexOf('proxy-prestop') < order.indexOf('proxy-prestop-done')
    && order.indexOf('proxy-prestop-done') < order.indexOf('proxy-term'), order.join(' '));
  assert.equal(get(events, 'proxy-prestop-done').detail, '200 slow');
  // The runner's own clock: the hook took at least 1.2 s, so the grace lost at least one whole second.
  const took = Number(get(events, 'proxy-prestop-done').tookMs);
  assert.ok(took >= 1000, `the hook took ${took} ms`);
  assert.equal(get(events, 'proxy-term').graceMs, Math.max(2000, 5000 - Math.floor(took / 1000) * 1000));
  assert.ok(Number(get(events, 'proxy-term').graceMs) <= 4000);
  assert.equal(get(events, 'pod-complete').phase, 'Succeeded');
});
