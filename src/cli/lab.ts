import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import { InputError, UsageError } from '../errors.js';
import { parseAutoWait } from '../inject/app-wait.js';
import { podSpecOf } from '../lab/kubelet.js';
import { manifestLimits } from '../lab/manifest.js';
import { CLIENT_PROTOCOLS, type ClientProtocol } from '../lab/load.js';
import { renderHtml, renderReport, type ScenarioRun } from '../lab/report.js';
import { runManifest, runScenarioByName, type Progress } from '../lab/run.js';
import { compareNames, DEFAULT_SCENARIO, scenario, scenarioNames } from '../lab/scenarios.js';
// Scenarios other parts of ebb register (each module calls registerScenario when imported).
import '../lab/job-scenario.js';
import { DEFAULT_SETTINGS, type LabSettings } from '../lab/settings.js';
import { parseLatency } from '../lab/demo-app.js';

interface LabFlags {
  rps: string; propagationDelay: string; fixedWait: string; scenario?: string; compare?: boolean;
  manifest?: string; appCommand?: string; appPort: string; sidecarCommand?: string; latency: string;
  requestTimeout: string; warmup: string; clients?: string; seed: string; auto: string; timeLimit: string;
  json?: boolean; html?: string; transparent?: boolean; clientModel: string; lastReplica?: boolean; gracePeriod?: string; runtime: string; stopSignal?: string; plegPeriod: string;
}

const d = DEFAULT_SETTINGS;

export function register(program: Command): void {
  program
    .command('lab')
    .description('reproduce a pod termination under load on this machine and report lost requests')
    .option('--scenario <name>', `a preset: ${scenarioNames().join(', ')}`, DEFAULT_SCENARIO)
    .option('--compare', 'run the preset scenarios one after another and print them side by side')
    .option('--manifest <file>', 'take the pod spec from this manifest (normally `ebb inject` output) instead of a preset')
    .option('--rps <n>', 'requests per second over all clients', String(d.rps))
    .option('--propagation-delay <s>', 'clients learn of the removal after delays spread over [0, S], one at S', String(d.propagationDelay))
    .option('--fixed-wait <n>', 'N for the fixed-wait presets (sized for the worst delay you expect)', String(d.fixedWait))
    .option('--auto <spec>', 'the proxy\'s auto wait in the auto presets: auto or auto:MIN:QUIET:MAX', d.autoWait)
    .option('--latency <spec>', 'demo app latency distribution (latency:weight,…)', d.latency)
    .option('--app-command <cmd>', 'run this as the app instead of the demo app ({port} and $PORT give its port)')
    .option('--app-port <n>', 'the app container\'s port in the built-in manifest', String(d.appPort))
    .option('--sidecar-command <cmd>', 'run this in ebb-proxy\'s place ({listenPort}, {appPort}, {adminPort} are substituted)')
    .option('--request-timeout <s>', 'a request unanswered after S seconds is a timeout', String(d.requestTimeout))
    .option('--warmup <s>', 'seconds of load before the deletion', String(d.warmup))
    .option('--clients <list>', 'what the clients speak and how many there are, comma-separated: h1 (HTTP/1.1, keep-alive and a connection per request), h2c, grpc (unary), and/or a count (default: 24 clients, at most one per request/s; h1, plus h2c when the app answers it)')
    .option('--seed <n>', 'seed of the demo app\'s latencies', String(d.seed))
    .option('--time-limit <s>', 'hard limit for the whole run; everything is stopped when it passes', String(d.timeLimit))
    .option('--transparent', 'real addressing, required: each pod in its own network namespace behind `ebb init`\'s iptables rules, clients connecting to the pod IP and the app\'s port, the app calling a remote service through the proxy\'s outbound listener (root, Linux; the default where it can run; with --runtime podman the ebb-init image writes the rules in each podman pod)')
    .option('--no-transparent', 'loopback addressing: pods on this machine\'s loopback, clients connecting to the proxy\'s own inbound port (the default where real addressing cannot run; with --runtime podman: the pod\'s IP and the proxy\'s inbound port, without ebb init\'s rules)')
    .option('--client-model <model>', 'how clients reach pods: kube-proxy (an open connection stays on its pod until it closes; new ones go to the new pod after the delay) or mesh (every request moves after the delay)', d.clientModel)
    .option('--last-replica', 'the old pod is the Service\'s only endpoint: clients keep sending to it while it is serving (KEP-1669), then find no endpoint')
    .option('--grace-period <seconds>', 'delete the old pod with this grace period instead of the manifest\'s terminationGracePeriodSeconds (kubectl delete --grace-period, an eviction\'s)')
    .option('--pleg-period <seconds>', 'the kubelet learns that a container exited on its own at its next PLEG relist, every S seconds (the generic PLEG\'s 1 s); 0 = at once', String(d.plegPeriod))
    .option('--runtime <name>', 'where the pods run: process (containers as processes on this machine) or podman (real containers in podman pods, from the images the manifest names; root, `npm run image:local` first)', d.runtime)
    .option('--stop-signal <name>', 'the --app-command image\'s STOPSIGNAL (e.g. SIGQUIT for nginx): sent to the app instead of SIGTERM unless its lifecycle.stopSignal says otherwise')
    .option('--json', 'print a JSON array (one object per scenario) instead of the report')
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .action(async (flags: LabFlags, cmd: Command) => {
      const settings = parseSettings(flags);
      const explicitScenario = cmd.getOptionValueSource('scenario') === 'cli';
      if (flags.compare && (flags.manifest || explicitScenario)) throw new UsageError('lab: --compare runs the presets; it cannot be combined with --manifest or --scenario');
      if (flags.manifest && explicitScenario) throw new UsageError('lab: give either --manifest or --scenario');
      if (settings.runtime === 'podman') {
        if (settings.appCommand || settings.sidecarCommand) throw new UsageError('lab: --runtime podman runs the images the manifest names; --app-command and --sidecar-command are for the process runtime');
        const notHere = (await import('../lab/podman.js')).podmanUnavailableReason();
        if (notHere) throw new UsageError(`lab: --runtime podman cannot run on this machine: ${notHere}`);
      }
      // Real addressing (pod IP + app port, intercepted) where this machine can; else loopback, said so.
      // Under podman the ebb-init image programs each pod's rules itself: podman (checked above) is all it needs.
      const why = settings.runtime === 'podman' ? undefined
        : settings.sidecarCommand ? 'another proxy runs in ebb-proxy\'s place (--sidecar-command), and ebb init\'s rules are ebb\'s'
        : (await import('../lab/netns.js')).transparentUnavailableReason();
      if (flags.transparent === true) {
        if (settings.sidecarCommand) throw new UsageError('lab: --transparent runs ebb proxy behind ebb init\'s rules; it cannot be combined with --sidecar-command');
        // Checked before anything starts: the lab needs to create namespaces and the proxy its addon.
        if (why) throw new UsageError(`lab: --transparent cannot run on this machine: ${why}. Run the lab with --no-transparent, or as root on a Linux machine with iproute2, iptables and util-linux`);
      }
      settings.transparent = flags.transparent ?? why === undefined;
      const addressing = addressingLines(settings, flags.transparent === false ? 'asked for with --no-transparent' : why);
      const deadline = performance.now() + settings.timeLimit * 1000;
      const progress = progressLine(Boolean(process.stderr.isTTY));
      const runs: ScenarioRun[] = [];
      try {
        if (flags.manifest) {
          const manifest = readManifest(flags.manifest);
          const limits = manifestLimits(manifest, flags.manifest);
          if (limits.refuse) throw new UsageError(`lab: ${limits.refuse}`);
          const run = await runManifest(basename(flags.manifest), `pod spec from ${flags.manifest}`, manifest, settings, { deadline, onProgress: progress });
          run.notes.push(...limits.warnings);
          runs.push(run);
        } else {
          const names = flags.compare ? compareNames(settings) : [flags.scenario ?? DEFAULT_SCENARIO];
          for (const n of names) if (!scenario(n)) throw new UsageError(`lab: unknown scenario "${n}"; known: ${scenarioNames().join(', ')}`);
          for (const [i, n] of names.entries()) {
            runs.push(await runScenarioByName(n, settings, { deadline, onProgress: progress, index: i + 1, of: names.length }));
          }
        }
      } finally {
        progress(undefined);
      }
      for (const r of runs) Object.assign(r.result.config, { addressing: addressing.mode, clientDescription: addressing.clients });
      if (flags.html) writeFileSync(flags.html, renderHtml(runs));
      if (flags.json) process.stdout.write(`${JSON.stringify(runs.map((r) => r.result), null, 2)}\n`);
      else {
        process.stdout.write(`addressing: ${addressing.text}\nclient model: ${addressing.clients}\n\n`);
        process.stdout.write(renderReport(runs));
        if (!flags.compare) process.stdout.write('Run `ebb lab --compare` to see the same load against other setups.\n');
      }
    });
}

/** What the report says about how clients reach the pods, and why when it is not the real thing. */
function addressingLines(s: LabSettings, loopbackWhy: string | undefined): { mode: 'pod-ip' | 'loopback'; text: string; clients: string } {
  const speak = s.protocols ? `speaking ${s.protocols.join(', ')} (--clients)` : 'speaking HTTP/1.1 (keep-alive, and a connection per request), plus HTTP/2 cleartext when the app answers it (probed through the proxy before each run)';
  const clients = `${Math.max(1, Math.min(s.clients ?? 24, Math.floor(s.rps)))} clients over ${s.rps} requests/s ${speak}, each learning of the endpoint removal after its own delay, spread over [0, ${s.propagationDelay}] s; ${s.clientModel === 'mesh'
    ? 'mesh (--client-model): a client-side balancer moves every request to the new pod once it knows'
    : 'kube-proxy (--client-model): an open connection stays on its pod until it closes, new connections go to the new pod once the client knows'}`;
  if (s.runtime === 'podman') {
    return {
      mode: 'pod-ip', clients,
      text: s.transparent
        ? 'real (podman): each pod a podman pod with its own IP on podman\'s bridge, behind the iptables rules its ebb-init init container (the ebb-init image, with only NET_ADMIN and NET_RAW) wrote in the pod\'s network namespace; clients connect to the pod\'s IP and the app\'s port, as kube-proxy delivers a Service\'s traffic, and the rules hand each connection to the proxy (uid 2102); the app calls a remote service on the bridge\'s gateway address through the proxy\'s outbound listener'
        : `podman without ebb init's rules: each pod a podman pod with its own IP on podman's bridge; clients connect to the pod's IP and the proxy's inbound port, which a cluster's clients never address (real addressing not used: ${loopbackWhy ?? 'unknown'})`,
    };
  }
  if (s.transparent) {
    return { mode: 'pod-ip', clients, text: 'real: each pod in its own network namespace behind ebb init\'s iptables rules; clients connect to the pod\'s IP and the app\'s port, as kube-proxy delivers a Service\'s traffic, and the rules hand each connection to the proxy' };
  }
  return { mode: 'loopback', clients, text: `loopback: clients connect to 127.0.0.1 and the proxy's own inbound port, which a cluster's clients never address (real addressing not used: ${loopbackWhy ?? 'unknown'})` };
}

/** `--clients 12`, `--clients h1`, `--clients h1,h2c,grpc,12`: protocols and/or a count. */
function clientsFlag(raw: string | undefined, problems: string[]): { clients?: number; protocols?: ClientProtocol[] } {
  if (raw === undefined) return {};
  const out: { clients?: number; protocols?: ClientProtocol[] } = {};
  for (const item of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    if (/^[0-9]+$/.test(item) && Number(item) >= 1) out.clients = Number(item);
    else if ((CLIENT_PROTOCOLS as readonly string[]).includes(item)) out.protocols = [...(out.protocols ?? []), item as ClientProtocol];
    else problems.push(`--clients "${item}" is neither a protocol (${CLIENT_PROTOCOLS.join(', ')}) nor a number of clients >= 1`);
  }
  if (!out.clients && !out.protocols) problems.push(`--clients "${raw}" names no protocol and no count`);
  if (out.protocols) out.protocols = CLIENT_PROTOCOLS.filter((p) => out.protocols!.includes(p));
  return out;
}

function parseSettings(f: LabFlags): LabSettings {
  const problems: string[] = [];
  const num = (name: string, raw: string | undefined, fallback: number, opts: { min?: number; int?: boolean; positive?: boolean } = {}): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    const bad = raw.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || n < (opts.min ?? 0) || (opts.positive && n <= 0);
    if (bad) { problems.push(`--${name} "${raw}" must be a${opts.int ? 'n integer' : ' number'} ${opts.positive ? '> 0' : `>= ${opts.min ?? 0}`}`); return fallback; }
    return n;
  };
  const s: LabSettings = {
    rps: num('rps', f.rps, d.rps, { positive: true }),
    propagationDelay: num('propagation-delay', f.propagationDelay, d.propagationDelay),
    fixedWait: num('fixed-wait', f.fixedWait, d.fixedWait, { int: true, min: 1 }),
    autoWait: f.auto,
    latency: f.latency,
    requestTimeout: num('request-timeout', f.requestTimeout, d.requestTimeout, { positive: true }),
    warmup: num('warmup', f.warmup, d.warmup),
    ...clientsFlag(f.clients, problems),
    seed: num('seed', f.seed, d.seed, { int: true }),
    appPort: num('app-port', f.appPort, d.appPort, { int: true, min: 1 }),
    appCommand: f.appCommand,
    sidecarCommand: f.sidecarCommand,
    timeLimit: num('time-limit', f.timeLimit, d.timeLimit, { positive: true }),
    transparent: false,
    clientModel: f.clientModel === 'mesh' ? 'mesh' : 'kube-proxy',
    lastReplica: Boolean(f.lastReplica),
    ...(f.gracePeriod === undefined ? {} : { gracePeriod: num('grace-period', f.gracePeriod, 0, { int: true }) }),
    runtime: f.runtime === 'podman' ? 'podman' : 'process',
    plegPeriod: num('pleg-period', f.plegPeriod, d.plegPeriod),
    ...(f.stopSignal === undefined ? {} : { stopSignal: (f.stopSignal.toUpperCase().startsWith('SIG') ? f.stopSignal.toUpperCase() : `SIG${f.stopSignal.toUpperCase()}`) as NodeJS.Signals }),
  };
  if (f.runtime !== 'process' && f.runtime !== 'podman') problems.push(`--runtime "${f.runtime}" must be process or podman`);
  if (s.stopSignal && !(s.stopSignal in osConstants.signals)) problems.push(`--stop-signal "${f.stopSignal}" is not a signal name (e.g. SIGQUIT)`);
  if (f.clientModel !== 'kube-proxy' && f.clientModel !== 'mesh') problems.push(`--client-model "${f.clientModel}" must be kube-proxy or mesh`);
  if (!parseAutoWait(s.autoWait).ok) problems.push(`--auto "${s.autoWait}" must be auto or auto:MIN:QUIET:MAX`);
  // Checked here, as the demo app would at its start (where it ended in a stack trace).
  try { parseLatency(s.latency); } catch (e) { problems.push(`--latency "${s.latency}": ${(e as Error).message} (latency:weight,… e.g. 10ms:90,100ms:9,2s:1)`); }
  if (f.html !== undefined) {
    const dir = dirname(resolve(f.html));
    try { accessSync(dir, constants.W_OK); } catch { problems.push(`--html ${f.html}: cannot write in ${dir} (missing, or not writable)`); }
  }
  if (s.rps > 5000) problems.push(`--rps ${s.rps} is more than this lab can send faithfully (max 5000)`);
  if (problems.length) throw new UsageError(`lab: invalid flags:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return s;
}

function readManifest(file: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new InputError(`lab: cannot read ${file}: ${(e as Error).message}`); }
  const docs = parseAllDocuments(text);
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) throw new InputError(`lab: ${file}: ${doc.errors[0]!.message}`);
    const obj = doc.toJSON() as Record<string, unknown> | null;
    const items = obj && obj.kind === 'List' && Array.isArray(obj.items) ? obj.items as Record<string, unknown>[] : [obj];
    for (const o of items) if (o && podSpecOf(o)) return o;
  }
  throw new InputError(`lab: ${file} has no workload with a pod spec (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)`);
}

/** A progress line on a terminal (rewritten in place); start and end lines otherwise. */
function progressLine(tty: boolean): (p: Progress | undefined) => void {
  let last = '';
  return (p) => {
    if (!p) { if (tty && last) process.stderr.write('\r\x1b[K'); return; }
    const where = p.elapsed === null ? 'starting pods' : p.elapsed < 0 ? `warm-up ${p.elapsed.toFixed(1)} s` : `t0 + ${p.elapsed.toFixed(1)} s`;
    const line = `[${p.index}/${p.of} ${p.scenario}] ${where}  requests ${p.sent}  failed ${p.failed}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (p.elapsed === null) process.stderr.write(`ebb lab: running ${p.scenario} (${p.index}/${p.of})\n`);
    last = line;
  };
}
