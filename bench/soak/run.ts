// `npm run soak` entry point: parses options (every bad one reported at once, exit 64), makes sure
// every child process is gone at exit and on Ctrl-C, and runs the soak. See docs/soak.md.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { killAll } from '../lib/procs.js';
import { attacks } from './attacks.js';
import { CARELESS_KINDS, type CarelessKind } from './clients.js';
import { CASES } from './hostile-cases.js';
import { comparePeers } from './peers.js';
import { soak } from './soak.js';
import { DEFAULT_EBB_BIN } from './stack.js';

const USAGE = `usage: npm run soak -- [options]
  --minutes M           how long the load runs before the TERM (default 10; fractions allowed)
  --rate R              well-behaved requests per second, all kinds together (default 40)
  --careless-rate R     careless clients started per second (default 2)
  --wait-before-exit S  the proxy's --wait-before-exit (default 2)
  --drain-timeout S     the proxy's --drain-timeout (default 30, the proxy's own default)
  --out FILE            results file (default soak-results.json)
  --ebb-bin PATH        the bin/ebb.js to run (default this checkout's; also EBB_SOAK_BIN)
  --careless A,B        only these careless kinds (${CARELESS_KINDS.join(', ')})
  --quiet               no progress lines

  --compare-peers       instead of the soak: every numbered case of issue 11 against ebb, HAProxy
                        and nginx side by side; prints a markdown table (docs/hostile-clients.md)
  --before PATH         with --compare-peers: also an "ebb before" column from this bin/ebb.js
  --cases A,B           with --compare-peers: only these cases (1, 2, 3, 4a, …)
  --peers-out FILE      with --compare-peers: the markdown file (default hostile-peers.md)

  --attacks             instead of the soak: each attack for a bounded time against a fresh ebb,
                        RSS and fds before, at the peak and 10 s after (--cases picks attacks)
  --attack-seconds S    with --attacks: how long each attack lasts (default 10)
  --attacks-out FILE    with --attacks: the JSON results (default soak-attacks.json)
  --gc-probe            with --attacks: run the proxy with --inspect on loopback and read RSS
                        again after forcing a full GC through it (RSS kept vs garbage not collected)`;

const OPTIONS = {
  minutes: { type: 'string', default: '10' },
  rate: { type: 'string', default: '40' },
  'careless-rate': { type: 'string', default: '2' },
  'wait-before-exit': { type: 'string', default: '2' },
  'drain-timeout': { type: 'string', default: '30' },
  out: { type: 'string', default: 'soak-results.json' },
  'ebb-bin': { type: 'string', default: DEFAULT_EBB_BIN },
  careless: { type: 'string', default: '' },
  quiet: { type: 'boolean', default: false },
  'compare-peers': { type: 'boolean', default: false },
  before: { type: 'string' },
  cases: { type: 'string', default: '' },
  'peers-out': { type: 'string', default: 'hostile-peers.md' },
  attacks: { type: 'boolean', default: false },
  'attack-seconds': { type: 'string', default: '10' },
  'attacks-out': { type: 'string', default: 'soak-attacks.json' },
  'gc-probe': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

function options() {
  let parsed;
  try {
    parsed = parseArgs({ options: OPTIONS });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(64);
  }
  const v = parsed.values;
  if (v.help) { console.log(USAGE); process.exit(0); }
  const problems: string[] = [];
  const num = (name: string, s: string, min: number, max: number): number => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max) problems.push(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(s)}`);
    return n;
  };
  const o = {
    minutes: num('minutes', v.minutes, 0.01, 24 * 60),
    rate: num('rate', v.rate, 1, 2000),
    carelessRate: num('careless-rate', v['careless-rate'], 0, 100),
    waitBeforeExit: num('wait-before-exit', v['wait-before-exit'], 0.2, 60),
    drainTimeout: num('drain-timeout', v['drain-timeout'], 1, 600),
    out: v.out,
    bin: v['ebb-bin'],
    progressS: v.quiet ? 0 : 30,
    careless: v.careless.split(',').map((x) => x.trim()).filter(Boolean) as CarelessKind[],
    mode: v['compare-peers'] ? 'compare-peers' as const : v.attacks ? 'attacks' as const : 'soak' as const,
    attackSeconds: num('attack-seconds', v['attack-seconds'], 1, 600),
    attacksOut: v['attacks-out'],
    gcProbe: v['gc-probe'],
    before: v.before ?? null,
    cases: v.cases.split(',').map((x) => x.trim()).filter(Boolean),
    peersOut: v['peers-out'],
  };
  for (const k of o.careless) if (!(CARELESS_KINDS as readonly string[]).includes(k)) problems.push(`--careless: unknown kind ${JSON.stringify(k)} (known: ${CARELESS_KINDS.join(', ')})`);
  const known = new Set(CASES.map((c) => c.id));
  for (const c of o.cases) if (!known.has(c)) problems.push(`--cases: unknown case ${JSON.stringify(c)} (known: ${[...known].join(', ')})`);
  if (v['compare-peers'] && v.attacks) problems.push('--compare-peers and --attacks: one at a time');
  if (o.before && !existsSync(o.before)) problems.push(`--before: ${o.before} does not exist`);
  if (!existsSync(o.bin)) problems.push(`--ebb-bin: ${o.bin} does not exist (run npm run build, or point it at a bin/ebb.js)`);
  if (problems.length) { console.error(problems.join('\n') + '\n\n' + USAGE); process.exit(64); }
  return o;
}

const o = options();
process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
const job = o.mode === 'compare-peers'
  ? comparePeers({ bin: o.bin, before: o.before, out: o.peersOut, only: o.cases })
  : o.mode === 'attacks'
    ? attacks({ bin: o.bin, cases: o.cases, seconds: o.attackSeconds, out: o.attacksOut, gcProbe: o.gcProbe })
    : soak(o).then((r) => (r.ok ? 0 : 1));
job.then(
  (code) => process.exit(code),
  (err: unknown) => { console.error(`soak failed: ${(err as Error).stack ?? String(err)}`); process.exit(2); },
);
