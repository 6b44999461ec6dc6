/**
 * One lab "pod": the containers of a pod spec as real processes on loopback. The app container is
 * the demo app (or the user's --app-command), the ebb-proxy container a real `ebb proxy` with the
 * manifest's args and EBB_* env (ports moved to free ones), or the user's --sidecar-command. Other
 * containers are simulated (they exit on TERM). It is also the kubelet simulator's ContainerDriver.
 *
 * With a PodNetwork (`ebb lab --transparent`) the pod has a network namespace of its own: the
 * ebb-init init container runs first (`ebb init`, its iptables rules), then the app and the proxy
 * run inside it on the manifest's own ports, the proxy as its runAsUser; clients and httpGet hooks
 * connect to the pod's address, and the app calls a remote service through the outbound listener.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { EbbError } from '../errors.js';
import { atLabExit } from './at-exit.js';
import type { OutboundCall } from './demo-app.js';
import { resolveContainerPort, type ContainerDriver, type HookResult, type PodContainer, type PodModel, type PreStopAction } from './kubelet.js';
import type { PodNetwork } from './netns.js';
import { IMAGE_ENV } from '../proxy/memory-relief.js';

export const EBB_BIN = fileURLToPath(new URL('../../../bin/ebb.js', import.meta.url));
const DEMO_APP = fileURLToPath(new URL('./demo-app-main.js', import.meta.url));

export interface PodOptions {
  name: string;
  model: PodModel;
  /** Demo app settings, or a user command (`{port}` and $PORT give it its port). */
  app: { command?: string; latency: string; seed: number };
  /** A command run in ebb-proxy's place: `{listenPort}`, `{appPort}`, `{adminPort}` are substituted. */
  sidecarCommand?: string;
  startTimeoutMs: number;
  /** Run the pod in this network namespace behind ebb init's rules (`ebb lab --transparent`). */
  network?: PodNetwork;
  /** The spec's plain init containers (in a namespace, ebb-init is run before the others start). */
  initContainers?: Array<Record<string, unknown>>;
  /** The demo app calls this URL every `appCallEveryMs` from start to exit (transparent mode). */
  appCallUrl?: string;
  appCallEveryMs?: number;
}

/** The proxy's uid when its container does not say (CONTRACTS.md, `ebb init --proxy-uid`). */
const DEFAULT_PROXY_UID = 2102;

type Role = 'app' | 'proxy' | 'simulated';

interface Running {
  role: Role;
  child?: ChildProcess;
  exited: Promise<void>;
  markExited: () => void;
  hasExited: boolean;
  /** The last lines of its stderr/stdout, for error messages. */
  tail: string[];
}

/** Every process any pod started, so an interrupted lab never leaves one behind. */
const allChildren = new Set<ChildProcess>();
const killAll = (): void => { for (const c of allChildren) killGroup(c, 'SIGKILL'); };
function track(child: ChildProcess): void {
  allChildren.add(child);
  child.once('exit', () => allChildren.delete(child));
  atLabExit(killAll);
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* gone */ } }
}

export function isProxyContainer(c: PodContainer): boolean {
  const image = String(c.spec.image ?? '');
  const args = Array.isArray(c.spec.args) ? c.spec.args.map(String) : [];
  return c.name === 'ebb-proxy' || (/(^|\/)ebb[:@]/.test(image) && args[0] === 'proxy');
}

export class LabPod implements ContainerDriver {
  /** Where clients send: the proxy's inbound port, or the app's port when there is no proxy. */
  inboundPort = 0;
  appPort = 0;
  adminPort: number | undefined;
  /** Info lines worth showing in the report (e.g. the proxy's shutdown summary). */
  readonly proxyLog: Array<Record<string, unknown>> = [];
  /** The app's own outbound calls, as it reported them (transparent mode). */
  readonly outboundCalls: OutboundCall[] = [];
  /** What `ebb init` printed (transparent mode). */
  initOutput = '';
  /** When every container had started (epoch ms): calls out before then are start-up, not shutdown. */
  readyAt = 0;
  private readonly containers = new Map<string, Running>();
  private readonly proxy: PodContainer | undefined;
  private readonly app: PodContainer | undefined;
  /** Manifest port number → real port, for httpGet hooks and probes (a pod shares one network namespace). */
  private readonly portMap = new Map<string, number>();

  constructor(private readonly opts: PodOptions) {
    this.proxy = opts.model.containers.find(isProxyContainer);
    const others = opts.model.containers.filter((c) => c !== this.proxy);
    const appPorts = this.proxy ? inboundAppPorts(this.proxy) : [];
    this.app = others.find((c) => containerPorts(c).some((p) => appPorts.includes(p.port))) ?? others.find((c) => !c.sidecar) ?? others[0];
  }

  get name(): string { return this.opts.name; }

  /** Where clients and httpGet hooks connect: the pod's address in its namespace, else loopback. */
  get host(): string { return this.opts.network?.podAddress ?? '127.0.0.1'; }

  async start(): Promise<void> {
    for (const c of this.opts.model.containers) {
      const role: Role = c === this.proxy ? 'proxy' : c === this.app ? 'app' : 'simulated';
      let markExited!: () => void;
      const exited = new Promise<void>((r) => { markExited = r; });
      const run: Running = { role, exited, markExited: () => { run.hasExited = true; markExited(); }, hasExited: false, tail: [] };
      this.containers.set(c.name, run);
    }
    if (this.opts.network) this.runInit(this.opts.network);
    if (this.app) await this.startApp(this.app);
    if (this.proxy) await this.startProxy(this.proxy);
    else this.inboundPort = this.appPort;
    this.readyAt = Date.now();
  }

  private runInit(network: PodNetwork): void {
    this.initOutput = runInitContainer(network, this.opts.initContainers ?? [], this.opts.name, this.opts.startTimeoutMs);
  }

  private async startApp(c: PodContainer): Promise<void> {
    const run = this.containers.get(c.name)!;
    const o = this.opts.app;
    // In its own namespace the app listens where its manifest says, on every address, as in a pod.
    const fixed = this.opts.network ? (containerPorts(c)[0]?.port ?? 8080) : undefined;
    if (o.command) {
      const port = fixed ?? await freePort();
      const cmd = o.command.replaceAll('{port}', String(port));
      this.spawn(run, '/bin/sh', ['-c', `exec ${cmd}`], { PORT: String(port) });
      await this.waitPort(run, port, `the app (${cmd})`);
      this.appPort = port;
    } else {
      const where = fixed === undefined ? ['--port', '0'] : ['--port', String(fixed), '--host', '0.0.0.0'];
      const calls = this.opts.appCallUrl ? ['--call-url', this.opts.appCallUrl, '--call-every-ms', String(this.opts.appCallEveryMs ?? 50)] : [];
      const child = this.spawn(run, process.execPath, [DEMO_APP, ...where, '--latency', o.latency, '--seed', String(o.seed), '--name', this.opts.name, ...calls], {});
      const line = await this.waitLine(run, child, 'stdout', (j) => j.msg === 'listening', 'the demo app');
      this.appPort = Number(line.port);
    }
    for (const p of containerPorts(c)) {
      this.portMap.set(`${p.port}`, this.appPort);
    }
  }

  private async startProxy(c: PodContainer): Promise<void> {
    const run = this.containers.get(c.name)!;
    if (this.opts.network) { await this.startTransparentProxy(c, run, this.opts.network); return; }
    const manifestAdmin = Number(envOf(c).EBB_ADMIN_PORT ?? 4191);
    const manifestInbound = inboundListenPorts(c);
    if (this.opts.sidecarCommand) {
      const [listenPort, adminPort] = [await freePort(), await freePort()];
      const cmd = this.opts.sidecarCommand.replaceAll('{listenPort}', String(listenPort))
        .replaceAll('{appPort}', String(this.appPort)).replaceAll('{adminPort}', String(adminPort));
      this.spawn(run, '/bin/sh', ['-c', `exec ${cmd}`], { LAB_LISTEN_PORT: String(listenPort), LAB_APP_PORT: String(this.appPort), LAB_ADMIN_PORT: String(adminPort) });
      await this.waitPort(run, listenPort, `the sidecar command (${cmd})`);
      this.inboundPort = listenPort;
      this.adminPort = adminPort;
    } else {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...IMAGE_ENV, ...envOf(c) })) env[k] = v; // the image's environment, then the manifest's
      // Same configuration as in the manifest, on free loopback ports.
      Object.assign(env, {
        EBB_INBOUND: `0:${this.appPort}`, EBB_ADMIN_PORT: '0', EBB_INBOUND_HOST: '127.0.0.1', EBB_OUTBOUND_PORT: '0',
        EBB_LOG_FORMAT: 'json',
      });
      delete env.EBB_APP_PORT;
      delete env.EBB_INBOUND_PORT;
      // Interception needs the pod's own namespace (--transparent); on loopback the ports are explicit.
      delete env.EBB_TRANSPARENT;
      const args = stripPortFlags(Array.isArray(c.spec.args) ? c.spec.args.map(String) : ['proxy']);
      const child = this.spawn(run, process.execPath, [EBB_BIN, ...(args.length ? args : ['proxy'])], env, true);
      const line = await this.waitLine(run, child, 'stderr', (j) => j.msg === 'listening', 'ebb proxy');
      this.adminPort = Number(line.admin);
      const inbound = Array.isArray(line.inbound) ? line.inbound as Array<{ port: number }> : [];
      this.inboundPort = Number(inbound[0]?.port);
      // The proxy installs its signal handlers after the listening line: a TERM before then
      // would kill it outright. Its admin server answering means it is ready for one.
      await this.waitHttp(run, this.adminPort, '/live', 'ebb proxy\'s admin server');
    }
    this.portMap.set(`${manifestAdmin}`, this.adminPort!);
    for (const p of manifestInbound) this.portMap.set(`${p}`, this.inboundPort);
    for (const p of containerPorts(c)) {
      const real = p.port === manifestAdmin ? this.adminPort! : this.inboundPort;
      this.portMap.set(`${p.port}`, real);
    }
  }

  /** The proxy as the manifest has it (its ports, env and uid), in the pod's namespace. */
  private async startTransparentProxy(c: PodContainer, run: Running, network: PodNetwork): Promise<void> {
    const sc = (c.spec.securityContext ?? {}) as { runAsUser?: unknown };
    const uid = typeof sc.runAsUser === 'number' ? sc.runAsUser : DEFAULT_PROXY_UID;
    // The proxy runs as its uid (ebb init's rules let that uid's traffic through): it must be able
    // to read ebb itself, which a checkout under /root, for one, does not allow.
    const [cmd, argv] = network.argv(process.execPath, [EBB_BIN, '--version'], uid);
    const probe = spawnSync(cmd, argv, { encoding: 'utf8', timeout: this.opts.startTimeoutMs });
    if (probe.status !== 0) {
      throw new EbbError('lab_start_failed', `the proxy runs as uid ${uid} (the manifest's runAsUser, which ebb init's rules exempt), but uid ${uid} cannot run ${EBB_BIN}: ` +
        `${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]}. Put ebb where every user can read it (e.g. clone it under /opt or /tmp) and run the lab from there`);
    }
    const env: Record<string, string> = { ...IMAGE_ENV, ...envOf(c), EBB_LOG_FORMAT: 'json' };
    const args = Array.isArray(c.spec.args) && c.spec.args.length ? c.spec.args.map(String) : ['proxy'];
    const child = this.spawn(run, process.execPath, [EBB_BIN, ...args], env, true, uid);
    const line = await this.waitLine(run, child, 'stderr', (j) => j.msg === 'listening', 'ebb proxy');
    this.adminPort = Number(line.admin);
    // Clients connect to the app's port on the pod's address; ebb init's rules hand them to the proxy.
    this.inboundPort = this.appPort;
    await this.waitHttp(run, this.adminPort, '/live', 'ebb proxy\'s admin server');
    for (const p of containerPorts(c)) {
      this.portMap.set(`${p.port}`, p.port);
    }
  }

  private spawn(run: Running, cmd: string, args: string[], env: Record<string, string>, cleanEbbEnv = false, uid?: number): ChildProcess {
    const base: NodeJS.ProcessEnv = { ...process.env };
    if (cleanEbbEnv) for (const k of Object.keys(base)) if (k.startsWith('EBB_')) delete base[k];
    // Its own process group: TERM goes to the main process (as a container's PID 1 gets it),
    // KILL to the whole group (as the runtime kills the container).
    const [bin, argv] = this.opts.network ? this.opts.network.argv(cmd, args, uid) : [cmd, args];
    const child = spawn(bin, argv, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track(child);
    run.child = child;
    const keep = (d: Buffer): void => {
      for (const l of d.toString('utf8').split('\n')) {
        if (!l.trim()) continue;
        if (run.role === 'app' && l.startsWith('{"msg":"outbound"')) {
          try { this.outboundCalls.push(JSON.parse(l) as OutboundCall); } catch { /* cut line */ }
          continue;
        }
        run.tail.push(l);
        if (run.tail.length > 40) run.tail.shift();
        if (run.role === 'proxy' && l.startsWith('{')) {
          try {
            const j = JSON.parse(l) as Record<string, unknown>;
            if (typeof j.level === 'number' && j.level >= 30 && j.msg !== 'listening') this.proxyLog.push(j);
          } catch { /* not JSON */ }
        }
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', () => run.markExited());
    child.once('error', (e) => { run.tail.push(String(e)); run.markExited(); });
    return child;
  }

  private waitLine(run: Running, child: ChildProcess, stream: 'stdout' | 'stderr', match: (j: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => fail(`did not start within ${this.opts.startTimeoutMs / 1000} s`), this.opts.startTimeoutMs);
      const fail = (why: string): void => {
        cleanup();
        reject(new EbbError('lab_start_failed', `${what} in the ${this.opts.name} pod ${why}:\n${run.tail.slice(-10).map((l) => `    ${l}`).join('\n')}`));
      };
      const onData = (d: Buffer): void => {
        buf += d.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          try {
            const j = JSON.parse(line) as Record<string, unknown>;
            if (match(j)) { cleanup(); resolve(j); return; }
          } catch { /* not JSON */ }
        }
      };
      const onExit = (): void => fail(`exited (code ${child.exitCode ?? child.signalCode})`);
      const cleanup = (): void => { clearTimeout(timer); child[stream]!.off('data', onData); child.off('exit', onExit); };
      child[stream]!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  private async waitHttp(run: Running, port: number, path: string, what: string): Promise<void> {
    const until = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < until && !run.hasExited) {
      const ok = await new Promise<boolean>((resolve) => {
        http.get({ host: this.host, port, path, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); })
          .on('error', () => resolve(false)).on('timeout', function (this: http.ClientRequest) { this.destroy(); resolve(false); });
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new EbbError('lab_start_failed', `${what} in the ${this.opts.name} pod did not answer ${path}:\n${run.tail.slice(-10).map((l) => `    ${l}`).join('\n')}`);
  }

  private async waitPort(run: Running, port: number, what: string): Promise<void> {
    const until = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < until) {
      if (run.hasExited) break;
      if (await canConnect(this.host, port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new EbbError('lab_start_failed', `${what} in the ${this.opts.name} pod ${run.hasExited ? 'exited' : 'did not listen'} on port ${port}:\n${run.tail.slice(-10).map((l) => `    ${l}`).join('\n')}`);
  }

  // ContainerDriver -------------------------------------------------------------------------

  signal(container: string, sig: NodeJS.Signals): void {
    const run = this.containers.get(container);
    if (!run) return;
    if (!run.child) { run.markExited(); return; }
    if (sig === 'SIGKILL') killGroup(run.child, 'SIGKILL');
    else if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(sig);
  }

  exited(container: string): Promise<void> {
    return this.containers.get(container)?.exited ?? Promise.resolve();
  }

  httpGet(container: string, action: Extract<PreStopAction, { kind: 'httpGet' }>, signal: AbortSignal): Promise<HookResult> {
    // A name is looked up in the hook's own container only, as the kubelet does.
    const spec = this.opts.model.containers.find((c) => c.name === container)?.spec ?? { name: container };
    const resolved = resolveContainerPort(spec, action.port);
    if ('error' in resolved) return Promise.resolve({ ok: false, detail: resolved.error });
    // Never a port outside the pod: on a shared machine that could be anyone's.
    const port = this.portMap.get(String(resolved.port));
    if (port === undefined) return Promise.resolve({ ok: false, detail: `port ${resolved.port} is not known in this pod` });
    return hookGet({ host: this.host, port, path: action.path, signal });
  }

  /** Ends every process of this pod (KILL), and waits for them. */
  async kill(): Promise<void> {
    for (const run of this.containers.values()) {
      if (run.child) killGroup(run.child, 'SIGKILL');
      else run.markExited();
    }
    await Promise.race([Promise.all([...this.containers.values()].map((r) => r.exited)), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** Lines the proxy wrote, for a failure report. */
  tailOf(container: string): string[] {
    return this.containers.get(container)?.tail ?? [];
  }
}

/**
 * The ebb-init init container of a pod spec: `ebb init` with its args and env, as root, in the pod's
 * namespace, to completion (as the kubelet runs init containers). Returns what it printed.
 */
export function runInitContainer(network: PodNetwork, initContainers: Array<Record<string, unknown>>, pod: string, timeoutMs: number): string {
  const init = initContainers.find(isInitContainer);
  if (!init) {
    throw new EbbError('lab_manifest', `the ${pod} pod has no ebb-init init container, so nothing would intercept its traffic: ` +
      'inject the manifest with `ebb inject --transparent true`, or run the lab without --transparent');
  }
  const args = Array.isArray(init.args) && init.args.length ? init.args.map(String) : ['init'];
  const [cmd, argv] = network.argv(process.execPath, [EBB_BIN, ...args]);
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('EBB_')) delete base[k];
  const r = spawnSync(cmd, argv, { env: { ...base, ...envOf({ spec: init }) }, encoding: 'utf8', timeout: timeoutMs });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) {
    throw new EbbError('lab_start_failed', `ebb-init in the ${pod} pod failed (exit ${r.status ?? r.signal}):\n${output.trim().split('\n').slice(-10).map((l) => `    ${l}`).join('\n')}`);
  }
  return output;
}

/** The ebb-init init container: named so, or an ebb image run with `init`. */
function isInitContainer(spec: Record<string, unknown>): boolean {
  const args = Array.isArray(spec.args) ? spec.args.map(String) : [];
  return spec.name === 'ebb-init' || (/(^|\/)ebb(-init)?[:@]/.test(String(spec.image ?? '')) && args[0] === 'init');
}

/** A container's env as name → value (entries with a literal value; valueFrom is not resolved). */
export function envOf(c: Pick<PodContainer, 'spec'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Array.isArray(c.spec.env) ? c.spec.env : []) {
    const r = e as { name?: unknown; value?: unknown };
    if (typeof r.name === 'string' && r.value !== undefined) out[r.name] = String(r.value);
  }
  return out;
}

/** A container's declared ports (containerPort, with its name when it has one). */
export function containerPorts(c: Pick<PodContainer, 'spec'>): Array<{ port: number; name?: string }> {
  const ports = Array.isArray(c.spec.ports) ? c.spec.ports as Array<{ containerPort?: unknown; name?: unknown }> : [];
  return ports.filter((p) => typeof p.containerPort === 'number').map((p) => ({ port: p.containerPort as number, name: typeof p.name === 'string' ? p.name : undefined }));
}

/** "4143:8080,4144:9090" → [[4143, 8080], …] from EBB_INBOUND (or EBB_INBOUND_PORT + EBB_APP_PORT). */
function inboundPairs(c: PodContainer): Array<[number, number]> {
  const env = envOf(c);
  if (env.EBB_INBOUND) {
    return env.EBB_INBOUND.split(',').map((p) => p.trim().split(':').map(Number) as [number, number]).filter(([l, a]) => Number.isFinite(l) && Number.isFinite(a));
  }
  if (env.EBB_APP_PORT) return [[Number(env.EBB_INBOUND_PORT ?? 4143), Number(env.EBB_APP_PORT)]];
  return [];
}
const inboundAppPorts = (c: PodContainer): number[] => inboundPairs(c).map(([, a]) => a);
export const inboundListenPorts = (c: PodContainer): number[] => inboundPairs(c).map(([l]) => l);

const PORT_FLAGS = new Set(['--app-port', '--inbound-port', '--inbound', '--admin-port', '--outbound-port', '--inbound-host']);
/** The manifest's args without port flags: the lab chooses the ports. */
function stripPortFlags(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const flag = a.split('=')[0]!;
    if (PORT_FLAGS.has(flag)) { if (!a.includes('=')) i++; continue; }
    out.push(a);
  }
  return out;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/**
 * An httpGet hook's request, as the kubelet judges it: any status below 400 is success; the
 * detail is the status and the start of the body, or the connection error's code.
 */
export function hookGet(options: http.RequestOptions): Promise<HookResult> {
  return new Promise((resolve) => {
    const req = http.get(options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { if (body.length < 500) body += d; });
      res.on('end', () => resolve({ ok: (res.statusCode ?? 0) < 400, detail: `${res.statusCode} ${body.trim().slice(0, 200)}` }));
      res.on('error', (e) => resolve({ ok: false, detail: e.message }));
    });
    req.on('error', (e) => resolve({ ok: false, detail: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}
