// `npm run soak -- --compare-peers`: every numbered case of issue 11, as exact bytes, against ebb
// and, side by side, HAProxy and nginx in front of the same kind of app; prints a markdown table
// (case, ebb, haproxy, nginx) and the bytes of each case. See docs/hostile-clients.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IMAGE_ENV } from '../../src/proxy/memory-relief.js';
import { findTool, freePort, run, start, stop, tail, waitForPort, type Proc } from '../lib/procs.js';
import { APT_HINT, haproxyConfig, nginxConfig } from '../lib/targets.js';
import { CASES, type Case, type Under } from './hostile-cases.js';
import { RecordingApp } from './recording-app.js';

export interface Running extends Under { proc: Proc; stop(): Promise<void> }

/** ebb in front of app: one inbound listener for its HTTP/1 server, one for its h2c server. */
export async function startEbbFor(name: string, bin: string, app: RecordingApp, extra: string[] = [], nodeArgs: string[] = []): Promise<Running> {
  let listening: (l: { inbound: Array<{ port: number; appPort: number }> }) => void = () => {};
  const got = new Promise<{ inbound: Array<{ port: number; appPort: number }> }>((r) => { listening = r; });
  const proc = start(process.execPath, [...nodeArgs, bin, 'proxy', '--inbound-host', '127.0.0.1', '--admin-port', '0', '--inbound', `0:${app.h1Port}`, '--inbound', `0:${app.h2Port}`, '--log-level', 'info', ...extra], {
    onLine: (l) => { if (l.includes('"msg":"listening"')) listening(JSON.parse(l) as { inbound: Array<{ port: number; appPort: number }> }); },
    env: IMAGE_ENV, // as the image runs it
  });
  const l = await Promise.race([got, proc.exited.then(() => { throw new Error(`${name} exited: ${tail(proc.output())}`); }), new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
  if (!l) throw new Error(`${name}: no listening line in 15 s: ${tail(proc.output())}`);
  const port = (appPort: number): number => l.inbound.find((i) => i.appPort === appPort)!.port;
  return { name, h1: port(app.h1Port), h2: port(app.h2Port), app, pid: proc.pid, proc, stop: () => stop(proc, 1000) };
}

/**
 * HAProxy 2.6 as commonly deployed: timeouts of its own documentation's examples (client/server 30 s,
 * http-request 10 s, http-keep-alive 10 s), h2 both sides on the h2c route.
 */
export async function startHaproxyFor(app: RecordingApp, tmp: string): Promise<Running> {
  const h1 = await freePort();
  const h2 = await freePort();
  const file = join(tmp, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig([{ port: h1, appPort: app.h1Port }, { port: h2, appPort: app.h2Port, h2: true }], {
    timeouts: { connect: '5s', client: '30s', server: '30s', 'http-request': '10s', 'http-keep-alive': '10s', tunnel: '1h' },
  }));
  const proc = start(findTool('haproxy')!, ['-db', '-f', file]);
  await waitForPort(h1, proc);
  await waitForPort(h2, proc);
  return { name: 'haproxy', h1, h2, app, pid: proc.pid, proc, stop: () => stop(proc, 1000) };
}

/**
 * nginx 1.22 with its defaults, plus the client's Host passed on (`proxy_set_header Host $http_host`,
 * as reverse-proxy configs do; nginx's default sends the upstream's name); `listen … http2` (h2c) on
 * the second route, HTTP/1.1 to the app (nginx has no h2 upstream).
 */
export async function startNginxFor(app: RecordingApp, tmp: string): Promise<Running> {
  const h1 = await freePort();
  const h2 = await freePort();
  const dir = join(tmp, 'nginx');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(dir, [{ port: h1, appPort: app.h1Port }, { port: h2, appPort: app.h1Port, h2: true }], { http: [], location: 'proxy_set_header Host $http_host;' }));
  const proc = start(findTool('nginx')!, ['-p', dir, '-e', `${dir}/error.log`, '-c', file]);
  await waitForPort(h1, proc);
  await waitForPort(h2, proc);
  return { name: 'nginx', h1, h2, app, pid: proc.pid, proc, stop: () => stop(proc, 1000) };
}

export interface PeerOptions { bin: string; before: string | null; out: string; only: string[] }

async function runAll(t: Running, cases: Case[]): Promise<Map<string, string>> {
  const cells = new Map<string, string>();
  const one = async (c: Case): Promise<void> => {
    try { cells.set(c.id, await c.run(t)); } catch (e) { cells.set(c.id, `harness error: ${(e as Error).message}`); }
    if (t.proc.child.exitCode !== null || t.proc.child.signalCode !== null) cells.set(c.id, `${cells.get(c.id)}; the proxy died: ${tail(t.proc.output(), 200)}`);
  };
  // The slowloris case takes up to 75 s and never reaches the app: it runs beside the others.
  const slow = cases.filter((c) => c.id === '6');
  const rest = cases.filter((c) => c.id !== '6');
  const beside = Promise.all(slow.map(one));
  for (const c of rest) await one(c);
  await beside;
  return cells;
}

export async function comparePeers(o: PeerOptions): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'ebb-hostile-'));
  process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
  const cases = CASES.filter((c) => o.only.length === 0 || o.only.includes(c.id));
  const versions: string[] = [];
  for (const [tool, args] of [['haproxy', ['-v']], ['nginx', ['-v']]] as const) {
    const p = findTool(tool);
    if (p) versions.push((await run(p, [...args], 5000)).output.split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? tool);
    else versions.push(`${tool}: not installed (${APT_HINT})`);
  }
  console.log(`hostile clients, side by side — ${new Date().toISOString()}, node ${process.version}`);
  console.log(`ebb: ${o.bin}${o.before ? `; ebb before: ${o.before}` : ''}; ${versions.join('; ')}`);
  const columns: Array<{ name: string; start: (app: RecordingApp) => Promise<Running> }> = [];
  if (o.before) columns.push({ name: 'ebb before', start: (app) => startEbbFor('ebb before', o.before!, app) });
  columns.push({ name: 'ebb', start: (app) => startEbbFor('ebb', o.bin, app) });
  if (findTool('haproxy')) columns.push({ name: 'haproxy', start: (app) => startHaproxyFor(app, mkdirTmp(tmp, 'haproxy')) });
  if (findTool('nginx')) columns.push({ name: 'nginx', start: (app) => startNginxFor(app, mkdirTmp(tmp, 'nginx')) });

  // Each proxy has its own app, so what reached the app is this proxy's doing; they run side by side.
  const results = await Promise.all(columns.map(async (col) => {
    const app = new RecordingApp();
    await app.listen();
    let t: Running | null = null;
    try {
      t = await col.start(app);
      return await runAll(t, cases);
    } catch (e) {
      return new Map(cases.map((c) => [c.id, `did not start: ${(e as Error).message}`]));
    } finally {
      await t?.stop();
      app.close();
    }
  }));

  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    `| case | ${columns.map((c) => c.name).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...cases.map((c) => `| **${c.id}** ${cell(c.title)} | ${results.map((r) => cell(r.get(c.id) ?? '')).join(' | ')} |`),
    '',
    'Bytes sent per case:',
    '',
    ...cases.map((c) => `- **${c.id}**: ${cell(c.bytes)}`),
  ];
  const md = lines.join('\n');
  console.log('');
  console.log(md);
  const out = resolve(o.out);
  writeFileSync(out, `<!-- ${new Date().toISOString()}: npm run soak -- --compare-peers; ${versions.join('; ')} -->\n${md}\n`);
  console.log(`\nwrote ${out}`);
  return 0;
}

function mkdirTmp(base: string, name: string): string {
  const d = join(base, name);
  mkdirSync(d, { recursive: true });
  return d;
}
