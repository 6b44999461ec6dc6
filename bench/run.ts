// `npm run bench`: ebb against no proxy and its peers, one scenario at a time, in one run on this
// machine. Reports req/s (MB/s for bulk TCP), p50/p99, RSS and CPU per proxy, the ratios of ebb to
// each peer against the issue's targets (reported, never asserted), and writes bench-results.json.
// See docs/bench.md.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { echo, h2load, wrk, type LoadOptions, type LoadResult } from './lib/loadgen.js';
import { findTool, killAll, pinned, rssBytes, run, Sampler, sleep, start, stop, type Pinning } from './lib/procs.js';
import { hottest } from './lib/profile.js';
import { cpuUsPerRequest, ratios, renderCells, renderRatios, RSS_IDLE_GOAL_MB, RSS_LOAD_GOAL_MB, type Cell } from './lib/report.js';
import { APT_HINT, SCENARIOS, TARGETS, upstreamFor, type Ctx, type Scenario, type UpstreamPorts } from './lib/targets.js';

const USAGE = `usage: npm run bench -- [options]
  --duration S      measured seconds per cell (default 10)
  --warmup S        unmeasured warm-up seconds per cell (default 2)
  --connections N   wrk connections (default 50); h2load uses N/5 clients × 10 streams; bulk TCP uses 4
  --only A,B        only these scenarios (${Object.keys(SCENARIOS).join(', ')}) and/or proxies (${TARGETS.map((t) => t.name).join(', ')})
  --out FILE        results file (default bench-results.json)
  --no-pin          do not pin processes to CPUs with taskset
  --layout L        shared (default): the proxy and the upstream on CPU 0, the load generator on CPU 1;
                    alone: the proxy alone on CPU 0, the upstream with the load generator on CPU 1
  --profile         run ebb under node --cpu-prof: profiles in bench-profiles/, hottest functions printed`;

const OPTIONS = {
  duration: { type: 'string', default: '10' },
  warmup: { type: 'string', default: '2' },
  connections: { type: 'string', default: '50' },
  only: { type: 'string', default: '' },
  out: { type: 'string', default: 'bench-results.json' },
  'no-pin': { type: 'boolean', default: false },
  layout: { type: 'string', default: 'shared' },
  profile: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

type Layout = 'shared' | 'alone';

function options(): { durationS: number; warmupS: number; connections: number; only: string[]; out: string; pin: boolean; layout: Layout; profile: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ options: OPTIONS });
  } catch (err) {
    // An unknown or malformed option: say which, show the usage, exit like the CLI does (64).
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(64);
  }
  const { values } = parsed;
  if (values.help) { console.log(USAGE); process.exit(0); }
  const problems: string[] = [];
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) problems.push(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const durationS = num('duration', values.duration, 1);
  const warmupS = num('warmup', values.warmup, 0);
  const connections = Math.round(num('connections', values.connections, 1));
  const only = values.only.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set<string>([...Object.keys(SCENARIOS), ...TARGETS.map((t) => t.name)]);
  for (const o of only) if (!known.has(o)) problems.push(`--only: unknown name ${JSON.stringify(o)} (known: ${[...known].join(', ')})`);
  if (values.layout !== 'shared' && values.layout !== 'alone') problems.push(`--layout must be shared or alone, got ${JSON.stringify(values.layout)}`);
  if (problems.length) { console.error(problems.join('\n') + '\n\n' + USAGE); process.exit(64); }
  return { durationS, warmupS, connections, only, out: values.out, pin: !values['no-pin'], layout: values.layout as Layout, profile: values.profile };
}

const BODY_PREFIX = 'hello from the ebb bench upstream';
/** The fixed-rate HTTP/1 load (h1-2k): this many keep-alive clients, this many requests per second in all. */
const RATE_CLIENTS = 10;
const RATE_TOTAL = 2000;

/** One real request (or echo) through the target before measuring: a fast 502 is not throughput. */
async function verify(s: Scenario, port: number): Promise<void> {
  const timeout = 5000;
  if (s === 'h2c') {
    await new Promise<void>((resolveP, reject) => {
      const session = h2connect(`http://127.0.0.1:${port}`);
      const fail = (e: Error): void => { session.destroy(); reject(e); };
      session.on('error', fail);
      const req = session.request({ ':path': '/' });
      let status = 0;
      let body = '';
      req.setTimeout(timeout, () => fail(new Error('h2c request timed out')));
      req.on('response', (h) => { status = Number(h[':status']); });
      req.setEncoding('utf8').on('data', (d: string) => { body += d; });
      req.on('end', () => {
        session.close();
        if (status === 200 && body.startsWith(BODY_PREFIX)) resolveP();
        else reject(new Error(`h2c check: status ${status}, body ${JSON.stringify(body.slice(0, 80))}`));
      });
      req.on('error', fail);
    });
    return;
  }
  if (s === 'tcp-echo') {
    await new Promise<void>((resolveP, reject) => {
      const sock = tcpConnect(port, '127.0.0.1');
      let got = '';
      sock.setTimeout(timeout, () => { sock.destroy(); reject(new Error('echo check timed out')); });
      sock.on('error', reject);
      sock.on('connect', () => sock.write('ping\n'));
      sock.setEncoding('utf8').on('data', (d: string) => {
        got += d;
        if (got === 'ping\n') { sock.destroy(); resolveP(); }
      });
    });
    return;
  }
  await new Promise<void>((resolveP, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, timeout }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => {
        if (res.statusCode === 200 && body.startsWith(BODY_PREFIX)) resolveP();
        else reject(new Error(`HTTP check: status ${res.statusCode} ${res.headers['ebb-proxy-error'] ?? ''}, body ${JSON.stringify(body.slice(0, 80))}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('HTTP check timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  const opt = options();
  const startedAt = new Date();
  const tools = { wrk: findTool('wrk'), h2load: findTool('h2load'), taskset: findTool('taskset'), haproxy: findTool('haproxy'), nginx: findTool('nginx') };
  const nCpu = availableParallelism();
  const pin: Pinning = { taskset: opt.pin && tools.taskset && nCpu >= 2 ? tools.taskset : null, proxyCpu: 0, loadCpu: 1, upstreamCpu: opt.layout === 'alone' ? 1 : 0 };
  const notes: string[] = [];
  if (!opt.pin) notes.push('pinning disabled by --no-pin: proxy and load generator share every CPU');
  else if (!tools.taskset) notes.push('taskset not found (util-linux): running unpinned, numbers are noisier');
  else if (nCpu < 2) notes.push(`only ${nCpu} CPU available: running unpinned, proxy and load generator compete`);
  const missingTools = (['wrk', 'h2load', 'haproxy', 'nginx'] as const).filter((t) => !tools[t]);
  if (missingTools.length) notes.push(`not installed: ${missingTools.join(', ')} — their cells are skipped. Install with: ${APT_HINT}`);

  const pinning = !pin.taskset ? 'unpinned (see notes)'
    : opt.layout === 'alone'
      ? `layout alone — CPU ${pin.proxyCpu}: proxy under test alone; CPU ${pin.loadCpu}: upstream server + load generator (wrk / h2load / echo client) — pinned with taskset`
      : `layout shared — CPU ${pin.proxyCpu}: proxy under test + upstream server; CPU ${pin.loadCpu}: load generator (wrk / h2load / echo client) — pinned with taskset`;
  const h2Clients = Math.max(1, Math.round(opt.connections / 5));
  const meta = {
    startedAt: startedAt.toISOString(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${nCpu}`,
    loadavgAtStart: loadavg().map((l) => Number(l.toFixed(2))),
    pinning,
    layout: opt.layout,
    durationS: opt.durationS,
    warmupS: opt.warmupS,
    connections: { h1: opt.connections, 'h1-2k': `${RATE_CLIENTS} clients × ${RATE_TOTAL / RATE_CLIENTS} req/s`, tcp: opt.connections, h2c: `${h2Clients} clients × 10 streams`, 'tcp-echo': '4 connections × 1 MiB window' },
    tools: Object.fromEntries(Object.entries(tools).map(([k, v]) => [k, v ?? null])),
    versions: {} as Record<string, string>,
    upstreamRssBytes: null as number | null,
  };
  for (const [name, args] of [['wrk', ['-v']], ['h2load', ['--version']], ['haproxy', ['-v']], ['nginx', ['-v']]] as const) {
    const p = tools[name];
    if (p) meta.versions[name] = (await run(p, [...args], 5000)).output.split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? '';
  }

  console.log(`ebb bench — ${meta.startedAt}, node ${meta.node}, ${meta.cpu}, load average ${meta.loadavgAtStart.join(' ')}`);
  console.log(`pinning: ${pinning}`);
  console.log(`each cell: ${opt.warmupS}s warm-up + ${opt.durationS}s measured; wrk ${opt.connections} connections (1 thread), h2load ${h2Clients}×10 streams, echo 4 connections`);
  for (const n of notes) console.log(`note: ${n}`);
  console.log('');

  const tmp = mkdtempSync(join(tmpdir(), 'ebb-bench-'));
  const profileDir = opt.profile ? resolve('bench-profiles') : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: Ctx = { pin, tmp, profileDir };
  const cleanup = (): void => { killAll(); rmSync(tmp, { recursive: true, force: true }); };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  // Layout shared: the upstream shares the proxy's CPU, so the load generator is alone on the other.
  // Layout alone: the proxy has its CPU to itself (what it costs when the app is elsewhere).
  const [ucmd, uargs] = pinned(pin, 'upstream', process.execPath, [new URL('./upstream.js', import.meta.url).pathname]);
  let portsLine: (v: UpstreamPorts) => void = () => {};
  const gotPorts = new Promise<UpstreamPorts>((r) => { portsLine = r; });
  const upstream = start(ucmd, uargs, { onLine: (l) => { if (l.startsWith('{')) portsLine(JSON.parse(l) as UpstreamPorts); } });
  const ports = await Promise.race([gotPorts, upstream.exited.then(() => { throw new Error(`upstream died: ${upstream.output()}`); })]);

  const onlyScenarios = opt.only.filter((o) => o in SCENARIOS);
  const onlyTargets = opt.only.filter((o) => TARGETS.some((t) => t.name === o));
  const cells: Cell[] = [];
  for (const s of Object.keys(SCENARIOS) as Scenario[]) {
    if (onlyScenarios.length && !onlyScenarios.includes(s)) continue;
    const needs = s === 'h2c' || s === 'h1-2k' ? 'h2load' : s === 'tcp-echo' ? null : 'wrk';
    console.log(`== ${s}: ${SCENARIOS[s]}`);
    for (const t of TARGETS) {
      if (!t.scenarios.includes(s) || (onlyTargets.length && !onlyTargets.includes(t.name))) continue;
      const why = needs && !tools[needs] ? `${needs} not installed (${APT_HINT})` : t.missing(s);
      if (why) {
        cells.push({ scenario: s, target: t.name, status: 'skipped', note: why });
        console.log(`   ${t.name.padEnd(8)} skipped: ${why}`);
        continue;
      }
      const cell = await measure(ctx, s, t.name, upstreamFor(s, ports), opt, h2Clients, tools);
      cells.push(cell);
      console.log(`   ${t.name.padEnd(8)} ${cell.status === 'ok' ? summary(cell) : `${cell.status}: ${cell.note}`}`);
    }
  }
  meta.upstreamRssBytes = rssBytes(upstream.pid);
  await stop(upstream);

  const rs = ratios(cells, opt.layout);
  console.log('\nResults (RSS from /proc/<pid>/status VmRSS: idle = 1 s after it listens, load = peak while measured; CPU = share of one core while measured)');
  console.log(renderCells(cells));
  console.log(`\nebb relative to each peer (throughput ratio; > 1 means ebb is faster). Targets from issue 16, reported not asserted:`);
  console.log(rs.length ? renderRatios(rs) : '(no ratios: ebb or its peers did not run)');
  const skipped = cells.filter((c) => c.status !== 'ok');
  if (skipped.length) {
    console.log('\nNot measured:');
    for (const c of skipped) console.log(`  ${c.scenario} ${c.target}: ${c.status} — ${c.note}`);
  }
  if (missingTools.length) console.log(`\nSetup: ${APT_HINT}`);
  console.log(`\nCaveat: one machine, ${!pin.taskset ? 'unpinned' : opt.layout === 'alone' ? 'the upstream shares the load generator\'s core' : 'the proxy and the upstream share one core'}; other work on the machine (load average at start ${meta.loadavgAtStart[0]}) moves numbers. Compare ratios within one run, not across runs.`);

  const out = resolve(opt.out);
  writeFileSync(out, JSON.stringify({ meta, targets: TARGETS.map((t) => ({ name: t.name, what: t.what })), cells, ratios: rs, rssIdleGoalMB: RSS_IDLE_GOAL_MB, rssLoadGoalMB: RSS_LOAD_GOAL_MB, notes }, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

function summary(c: Cell): string {
  const rate = c.unit === 'MB/s' ? `${c.rate!.toFixed(0)} MB/s` : `${Math.round(c.rate!)} req/s`;
  const lat = c.p50Us ? `, p50 ${(c.p50Us / 1000).toFixed(2)}ms p99 ${(c.p99Us! / 1000).toFixed(2)}ms` : '';
  return `${rate}${lat}${c.errors ? `, ${c.errors} errors (${c.errorDetail})` : ''}`;
}

async function measure(
  ctx: Ctx, s: Scenario, name: string, upstreamPort: number,
  opt: { durationS: number; warmupS: number; connections: number },
  h2Clients: number, tools: { wrk: string | null; h2load: string | null },
): Promise<Cell> {
  const target = TARGETS.find((t) => t.name === name)!;
  const cell: Cell = { scenario: s, target: name, status: 'failed' };
  let running;
  const measured: { window: { fromUs: number; toUs: number } | null } = { window: null };
  try {
    running = await target.start(ctx, s, upstreamPort);
  } catch (err) {
    cell.note = `did not start: ${(err as Error).message}`;
    return cell;
  }
  try {
    if (running.proc) { await sleep(1000); cell.rssIdleBytes = rssBytes(running.proc.pid); }
    await verify(s, running.port);
    let sampler: Sampler | null = null;
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    const lo: LoadOptions = {
      pin: ctx.pin, warmupS: opt.warmupS, durationS: opt.durationS, connections: opt.connections, tmp: ctx.tmp,
      onMeasure: () => {
        if (running.proc && !sampler) sampler = new Sampler(running.proc.pid);
        measured.window = { fromUs: nowUs(), toUs: Infinity };
      },
    };
    const url = `http://127.0.0.1:${running.port}/`;
    let r: LoadResult;
    if (s === 'h2c') r = await h2load(tools.h2load!, url, { ...lo, connections: h2Clients, streams: 10 });
    else if (s === 'h1-2k') r = await h2load(tools.h2load!, url, { ...lo, connections: RATE_CLIENTS, streams: 1, h1: true, rps: RATE_TOTAL / RATE_CLIENTS });
    else if (s === 'tcp-echo') r = await echo(running.port, { ...lo, connections: 4 });
    else r = await wrk(tools.wrk!, url, lo);
    const sampled = (sampler as Sampler | null)?.finish();
    if (measured.window) measured.window.toUs = nowUs();
    if (running.proc && running.proc.child.exitCode !== null) throw new Error(`the proxy exited during the run: ${running.proc.output().slice(-300)}`);
    Object.assign(cell, r, { status: 'ok', rssLoadBytes: sampled?.rssPeak ?? null, cpuPercent: sampled?.cpuPercent ?? null, info: running.info });
    cell.cpuUsPerRequest = cpuUsPerRequest(cell);
  } catch (err) {
    cell.note = (err as Error).message;
  } finally {
    await running.stop();
  }
  const prof = ctx.profileDir && (name === 'ebb' || name.startsWith('ebb-')) ? join(ctx.profileDir, `${name}-${s}.cpuprofile`) : null;
  if (prof && existsSync(prof)) {
    const hot = hottest(prof, measured.window ?? undefined);
    cell.info = { ...cell.info, profile: prof, hottest: hot };
    console.log(`   profile ${prof} — most self time while measured (share of busy samples):`);
    for (const h of hot) console.log(`     ${h.selfPercent.toFixed(1).padStart(5)}%  ${h.fn}  ${h.where}`);
  }
  return cell;
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
