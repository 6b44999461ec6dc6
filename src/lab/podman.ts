/**
 * `ebb lab --runtime podman`: one lab pod as a podman pod, the kubelet simulator's ContainerDriver.
 *
 * One container per container in the spec, from the image it names (ebb:<version> and
 * ebb-init:<version> from `npm run image:local`; the demo app's `ebb-lab/demo-app` is an image the
 * lab builds from the slim Node base and the ebb image's files, removed at exit), all in one podman
 * pod: one network namespace (and one PID namespace with shareProcessNamespace), so every port is
 * the manifest's own and clients reach the pod's IP. Start order as the kubelet's: plain init
 * containers to completion (ebb-init with the capabilities its securityContext asks for), then
 * native sidecars one by one, each started (postStart hook) and probed (startupProbe) before the
 * next, then the regular containers. Hooks run for real: exec with `podman exec` in their container,
 * httpGet from outside to the pod's IP; signals to the container's init process (as runc kill does;
 * `podman kill --signal` when its pid is unknown); exits when that process is gone or `podman wait`
 * returns, the exit code from `podman wait`. Everything it creates is removed when the pod is killed and at exit (also Ctrl-C).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EbbError } from '../errors.js';
import { VERSION } from '../version.js';
import { atLabExit } from './at-exit.js';
import type { OutboundCall } from './demo-app.js';
import { resolveContainerPort, type ContainerDriver, type HookResult, type PodContainer, type PodModel, type PreStopAction } from './kubelet.js';
import { containerPorts, envOf, hookGet, inboundListenPorts, isProxyContainer } from './pod.js';
import type { RemoteService } from './remote.js';

/** The image the built-in manifest names for the app. */
export const DEMO_APP_IMAGE = 'ebb-lab/demo-app';

/** Where runc keeps its containers' state when podman runs it as root (podman's default). */
const RUNC_ROOT = '/run/runc';

const run = (args: string[], timeoutMs = 120_000) => spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs });

/**
 * `podman ARGS` without blocking the lab: its clients, the remote service and the other pod's
 * start go on meanwhile (a synchronous call held the event loop 5-8 s per pod start here).
 */
function runAsync(args: string[], timeoutMs = 120_000): Promise<{ status: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolve) => {
    const child = spawn('podman', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => { clearTimeout(timer); resolve({ status: null, stdout, stderr, error }); });
    child.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}

/** Why `--runtime podman` cannot run here, or null (checked before anything starts). */
export function podmanUnavailableReason(): string | null {
  const v = run(['--version'], 20_000);
  if (v.error || v.status !== 0) return 'podman is not installed (Debian: apt-get install podman buildah catatonit; see docs/image.md)';
  if (process.getuid?.() !== 0) return 'the lab runs podman pods as root (their network namespaces, the pod IP reachable from here)';
  for (const image of [`ebb:${VERSION}`, `ebb-init:${VERSION}`]) {
    if (run(['image', 'exists', localName(image)]).status !== 0) return `the image ${localName(image)} is not built: run \`npm run image:local\` (docs/image.md)`;
  }
  return null;
}

/** A reference without a registry is a local image (localhost/…), as podman stores what it builds. */
function localName(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? image : `localhost/${image}`;
}

/** What one lab run shares between its pods: a unique prefix, the demo-app image it built. */
export class PodmanSession {
  readonly prefix = `ebb-lab-${process.pid}-${randomBytes(3).toString('hex')}`;
  private demoImage: string | undefined;
  private readonly pods = new Set<string>();

  constructor() {
    atLabExit(() => this.removeAllSync());
  }

  /** `ebb-lab/demo-app` for this run: the slim Node base + ebb's files, the demo app as entrypoint. */
  demoAppImage(): Promise<string> {
    this.demoBuild ??= this.buildDemoAppImage();
    return this.demoBuild;
  }

  private demoBuild: Promise<string> | undefined;
  private async buildDemoAppImage(): Promise<string> {
    const tag = `localhost/${DEMO_APP_IMAGE}:${this.prefix}`;
    // Named before it exists: an interrupted build's image is removed too.
    this.demoImage = tag;
    const major = process.versions.node.split('.')[0];
    const ctx = mkdtempSync(join(tmpdir(), 'ebb-lab-demo-'));
    try {
      // A slim Node base, not distroless: an app image has a shell, which exec hooks like
      // ["/bin/sh", "-c", "sleep 5"] need.
      writeFileSync(join(ctx, 'Containerfile'), [
        `FROM docker.io/library/node:${major}-bookworm-slim`,
        `COPY --from=localhost/ebb:${VERSION} /usr/local/lib/ebb /usr/local/lib/ebb`,
        'ENTRYPOINT ["node", "/usr/local/lib/ebb/dist/src/lab/demo-app-main.js"]',
        '',
      ].join('\n'));
      const r = await runAsync(['build', '--pull=never', '-q', '--label', `ebb.lab=${this.prefix}`, '-t', tag, ctx], 300_000);
      if (r.status !== 0) throw new EbbError('lab_start_failed', `building the demo app image failed (it needs node:${major}-bookworm-slim and ebb:${VERSION}: \`npm run image:local\`):\n${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
    return tag;
  }

  private runc: Promise<boolean> | undefined;
  /** Whether exec hooks can go to runc directly for this container: podman runs it with runc, whose state is in RUNC_ROOT. */
  async runcState(id: string): Promise<boolean> {
    this.runc ??= runAsync(['info', '--format', '{{.Host.OCIRuntime.Name}}'])
      .then((info) => info.status === 0 && info.stdout.trim() === 'runc' && spawnSync('runc', ['--version']).status === 0);
    return await this.runc && existsSync(join(RUNC_ROOT, id, 'state.json'));
  }

  podName(pod: string): string {
    const name = `${this.prefix}-${pod}`;
    this.pods.add(name);
    return name;
  }

  async removePod(name: string): Promise<void> {
    await runAsync(['pod', 'rm', '-f', '-t', '0', name]);
    this.pods.delete(name);
  }

  removePodSync(name: string): void {
    run(['pod', 'rm', '-f', '-t', '0', name]);
    this.pods.delete(name);
  }

  /** Removes every pod and the image this session made. */
  removeAllSync(): void {
    for (const p of [...this.pods]) this.removePodSync(p);
    if (this.demoImage) { run(['rmi', '-f', this.demoImage]); this.demoImage = undefined; }
  }
}

interface Ctr {
  name: string;
  /** The container's init process on this machine (what runc signals), 0 if unknown. */
  pid: number;
  /** Its id in runc's state directory when exec hooks can go straight to runc (undefined: `podman exec`). */
  runcId?: string;
  spec: Record<string, unknown>;
  exited: Promise<void>;
  hasExited: boolean;
  exitCode: number | null;
  /** Resolves when `podman wait` has answered (the exit code is known). */
  waited: Promise<void>;
  tail: string[];
  logs?: ChildProcess;
}

export interface PodmanPodOptions {
  name: string;
  model: PodModel;
  app: { latency: string; seed: number };
  startTimeoutMs: number;
  session: PodmanSession;
  /** Every init container of the spec (plain ones and native sidecars), in spec order. */
  initContainers: Array<Record<string, unknown>>;
  shareProcessNamespace: boolean;
  /**
   * Real addressing: the remote service the demo app calls every `appCallEveryMs`, listening on
   * the gateway address of the pod's podman network (this machine's side of the bridge).
   */
  remote?: RemoteService;
  appCallEveryMs?: number;
}

export class PodmanPod implements ContainerDriver {
  inboundPort = 0;
  adminPort: number | undefined;
  readonly proxyLog: Array<Record<string, unknown>> = [];
  readonly outboundCalls: OutboundCall[] = [];
  initOutput = '';
  readyAt = 0;
  /** The pod's IP on podman's network: where clients and httpGet hooks connect. */
  host = '';
  private pod = '';
  private readonly ctrs = new Map<string, Ctr>();
  private readonly proxy: PodContainer | undefined;
  private readonly app: PodContainer | undefined;
  private readonly children = new Set<ChildProcess>();
  private appCallUrl: string | undefined;

  constructor(private readonly opts: PodmanPodOptions) {
    this.proxy = opts.model.containers.find(isProxyContainer);
    this.app = opts.model.containers.find((c) => c !== this.proxy && !c.sidecar);
  }

  get name(): string { return this.opts.name; }

  async start(): Promise<void> {
    const o = this.opts;
    this.pod = o.session.podName(o.name);
    const share = o.shareProcessNamespace ? 'net,pid,ipc,uts' : 'net,ipc,uts';
    await this.must(['pod', 'create', '--name', this.pod, '--share', share], 'creating the pod');
    await this.must(['pod', 'start', this.pod], 'starting the pod');
    const infra = await this.must(['pod', 'inspect', this.pod, '--format', '{{.InfraContainerID}}'], 'inspecting the pod');
    this.host = await this.must(['inspect', infra, '--format', '{{.NetworkSettings.IPAddress}}'], 'reading the pod IP');
    if (!net.isIP(this.host)) throw new EbbError('lab_start_failed', `the ${o.name} pod has no IP on podman's network (got "${this.host}")`);
    if (o.remote) {
      // The bridge's address on this machine exists once a container is on it: the pod's infra is.
      const gateway = await this.must(['inspect', infra, '--format', '{{.NetworkSettings.Gateway}}'], 'reading the pod network\'s gateway');
      if (!net.isIP(gateway)) throw new EbbError('lab_start_failed', `the ${o.name} pod's podman network has no gateway address (got "${gateway}"), so its app has no remote service to call; run the lab with --no-transparent`);
      this.appCallUrl = await o.remote.listen(gateway);
    }

    for (const spec of o.initContainers) {
      if (spec.restartPolicy === 'Always') {
        const c = o.model.containers.find((m) => m.name === spec.name && m.sidecar);
        if (c) await this.startContainer(c);
      } else {
        await this.runToCompletion(spec);
      }
    }
    for (const c of o.model.containers.filter((m) => !m.sidecar)) await this.startContainer(c);

    const inbound = this.proxy ? inboundListenPort(this.proxy) : undefined;
    this.inboundPort = inbound ?? (this.app ? containerPorts(this.app)[0]?.port ?? 8080 : 8080);
    if (this.proxy) this.adminPort = Number(envOf(this.proxy).EBB_ADMIN_PORT ?? 4191);
    if (this.app) await this.waitPort(containerPorts(this.app)[0]?.port ?? 8080, `the ${this.app.name} container`, this.app.name);
    if (this.proxy) await this.waitHttp(this.adminPort!, '/live', 'ebb proxy\'s admin server', this.proxy.name);
    this.readyAt = Date.now();
  }

  /** A plain init container, run to completion before anything else (as the kubelet does). */
  private async runToCompletion(spec: Record<string, unknown>): Promise<void> {
    const name = `${this.pod}-${String(spec.name)}`;
    const args = ['run', '--name', name, '--pod', this.pod, ...this.securityArgs(spec), ...this.envArgs(spec, false), ...await this.commandArgs(spec)];
    const r = await runAsync(args, this.opts.startTimeoutMs);
    await runAsync(['rm', '-f', name]);
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.status !== 0) throw new EbbError('lab_start_failed', `init container ${String(spec.name)} in the ${this.opts.name} pod failed (exit ${r.status ?? "killed (start timeout)"}):\n${out.trim().split('\n').slice(-10).map((l) => `    ${l}`).join('\n')}`);
    this.initOutput += out;
  }

  private async startContainer(c: PodContainer): Promise<void> {
    const name = `${this.pod}-${c.name}`;
    const ctr: Ctr = { name, pid: 0, spec: c.spec, exited: Promise.resolve(), hasExited: false, exitCode: null, waited: Promise.resolve(), tail: [] };
    this.ctrs.set(c.name, ctr);
    const isProxy = c === this.proxy;
    let image: string[];
    if (c === this.app && String(c.spec.image ?? '') === DEMO_APP_IMAGE) {
      const port = containerPorts(c)[0]?.port ?? 8080;
      image = [await this.opts.session.demoAppImage(), '--port', String(port), '--host', '0.0.0.0', '--latency', this.opts.app.latency, '--seed', String(this.opts.app.seed), '--name', this.opts.name,
        ...(this.appCallUrl ? ['--call-url', this.appCallUrl, '--call-every-ms', String(this.opts.appCallEveryMs ?? 50)] : [])];
    } else {
      image = await this.commandArgs(c.spec);
    }
    await this.must(['run', '-d', '--name', name, '--pod', this.pod, ...this.securityArgs(c.spec), ...this.envArgs(c.spec, isProxy), ...image], `starting container ${c.name}`);
    const [pid, id] = (await runAsync(['inspect', name, '--format', '{{.State.Pid}} {{.Id}}'])).stdout.trim().split(' ');
    ctr.pid = Number(pid) || 0;
    if (id && await this.opts.session.runcState(id)) ctr.runcId = id;
    // Its exit: its init process gone (polled every 50 ms: `podman wait` answers 0.5 s or more
    // later on a busy machine), or `podman wait` returning, whichever is first; the exit code
    // from podman wait.
    const wait = this.spawnTracked(['wait', name]);
    let out = '';
    wait.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const waited = new Promise<void>((resolve) => wait.once('close', () => {
      const code = Number(out.trim());
      ctr.exitCode = out.trim() !== '' && Number.isInteger(code) ? code : null;
      resolve();
    }));
    ctr.waited = waited;
    ctr.exited = new Promise<void>((resolve) => {
      const done = (): void => { if (!ctr.hasExited) { ctr.hasExited = true; clearInterval(poll); resolve(); } };
      void waited.then(done);
      const poll = setInterval(() => { if (ctr.pid > 0 && !alive(ctr.pid)) done(); }, 50);
    });
    const logs = this.spawnTracked(['logs', '-f', name]);
    ctr.logs = logs;
    const keep = (d: Buffer): void => {
      for (const l of d.toString('utf8').split('\n')) this.line(c, ctr, l, this.outboundCalls, this.proxyLog);
    };
    logs.stdout!.on('data', keep);
    logs.stderr!.on('data', keep);

    // As the kubelet: postStart exec, then (for a native sidecar) its startupProbe, before the next.
    const post = asRecord(asRecord(asRecord(c.spec.lifecycle)?.postStart)?.exec);
    if (post) {
      const command = asArray(post.command).map(String);
      const r = await this.execIn(ctr, command, this.opts.startTimeoutMs);
      if (!r.ok) throw new EbbError('lab_start_failed', `the postStart hook ${JSON.stringify(command)} of ${c.name} in the ${this.opts.name} pod failed: ${r.detail}`);
    }
    const startup = asRecord(asRecord(c.spec.startupProbe)?.httpGet);
    if (startup) {
      const port = this.portOf(c.name, startup.port as number | string);
      await this.waitHttp(port, typeof startup.path === 'string' ? startup.path : '/', `the startupProbe of ${c.name}`, c.name);
    }
  }

  /** One line a container wrote: the app's outbound calls, the proxy's info lines, the tail. */
  private line(c: PodContainer, ctr: Ctr, l: string, outbound: OutboundCall[], proxyLog: Array<Record<string, unknown>>): void {
    if (!l.trim()) return;
    if (c === this.app && l.startsWith('{"msg":"outbound"')) {
      try { outbound.push(JSON.parse(l) as OutboundCall); } catch { /* cut line */ }
      return;
    }
    ctr.tail.push(l);
    if (ctr.tail.length > 40) ctr.tail.shift();
    if (c === this.proxy && l.startsWith('{')) {
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (typeof j.level === 'number' && j.level >= 30 && j.msg !== 'listening') proxyLog.push(j);
      } catch { /* not JSON */ }
    }
  }

  /**
   * The whole log of each container that has exited, read again once it is gone: `podman logs -f`
   * was seen to stop following at the exit before its last lines (the app's last half second of
   * calls out), which a container's log file still has.
   */
  private async rereadLogs(): Promise<void> {
    const outbound: OutboundCall[] = [];
    const proxyLog: Array<Record<string, unknown>> = [];
    for (const c of [this.proxy, this.app]) {
      const ctr = c && this.ctrs.get(c.name);
      if (!c || !ctr?.hasExited) continue;
      const r = await runAsync(['logs', ctr.name]);
      if (r.status !== 0) continue;
      ctr.tail.length = 0;
      for (const l of `${r.stdout}\n${r.stderr}`.split('\n')) this.line(c, ctr, l, outbound, proxyLog);
    }
    if (outbound.length >= this.outboundCalls.length) this.outboundCalls.splice(0, Infinity, ...outbound.sort((a, b) => a.start - b.start));
    if (proxyLog.length >= this.proxyLog.length) this.proxyLog.splice(0, Infinity, ...proxyLog);
  }

  private securityArgs(spec: Record<string, unknown>): string[] {
    const sc = asRecord(spec.securityContext) ?? {};
    const out: string[] = [];
    if (typeof sc.runAsUser === 'number') out.push('--user', `${sc.runAsUser}${typeof sc.runAsGroup === 'number' ? `:${sc.runAsGroup}` : ''}`);
    if (sc.readOnlyRootFilesystem === true) out.push('--read-only');
    const caps = asRecord(sc.capabilities);
    for (const d of asArray(caps?.drop)) out.push('--cap-drop', String(d));
    for (const a of asArray(caps?.add)) out.push('--cap-add', String(a));
    return out;
  }

  private envArgs(spec: Record<string, unknown>, isProxy: boolean): string[] {
    const env = envOf({ spec });
    // The lab reads the proxy's shutdown summary from its log lines.
    if (isProxy) env.EBB_LOG_FORMAT = 'json';
    return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  }

  /** The image, with the spec's command (as the entrypoint) and args. */
  private async commandArgs(spec: Record<string, unknown>): Promise<string[]> {
    const image = localName(String(spec.image ?? ''));
    if ((await runAsync(['image', 'exists', image])).status !== 0) {
      throw new EbbError('lab_start_failed', `container ${String(spec.name)} of the ${this.opts.name} pod names the image ${String(spec.image)}, which podman does not have (${image}); build it, or \`npm run image:local\` for ebb's`);
    }
    const command = asArray(spec.command).map(String);
    const args = asArray(spec.args).map(String);
    return [...(command.length ? ['--entrypoint', JSON.stringify(command)] : []), image, ...args];
  }

  private async must(args: string[], what: string): Promise<string> {
    const r = await runAsync(args, this.opts.startTimeoutMs);
    if (r.status !== 0) throw new EbbError('lab_start_failed', `${what} (${this.opts.name} pod): podman ${args[0]} failed: ${(r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' ')}`);
    return r.stdout.trim();
  }

  private spawnTracked(args: string[], cmd = 'podman'): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('close', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /**
   * An exec hook in its container, as a kubelet's runtime runs it: `runc exec` (what containerd's
   * shim runs for the kubelet's ExecSync; the container's user, env and capabilities) when podman's
   * runtime is runc, else `podman exec`, whose own start-up (the podman CLI, ~0.15 s here on top of
   * runc's) a kubelet talking to a running containerd does not pay.
   */
  private execIn(ctr: Ctr, command: string[], timeoutMs: number, signal?: AbortSignal): Promise<HookResult> {
    return new Promise((resolve) => {
      const child = ctr.runcId
        ? this.spawnTracked(['--root', RUNC_ROOT, 'exec', ctr.runcId, ...command], 'runc')
        : this.spawnTracked(['exec', ctr.name, ...command]);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => { if (out.length < 500) out += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { if (out.length < 500) out += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const onAbort = (): void => { child.kill('SIGKILL'); };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.once('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const tail = out.trim().split('\n').slice(-2).join(' ').slice(0, 200);
        resolve({ ok: code === 0, detail: code === 0 ? `exited 0${tail ? `: ${tail}` : ''}` : `exited ${code ?? 'killed'}${tail ? `: ${tail}` : ''}` });
      });
    });
  }

  private async waitPort(port: number, what: string, container: string): Promise<void> {
    const until = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < until) {
      if (this.ctrs.get(container)?.hasExited) break;
      if (await canConnect(this.host, port)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw this.startError(`${what} did not listen on ${this.host}:${port}`, container);
  }

  private async waitHttp(port: number, path: string, what: string, container: string): Promise<void> {
    const until = Date.now() + this.opts.startTimeoutMs;
    while (Date.now() < until) {
      if (this.ctrs.get(container)?.hasExited) break;
      const r = await this.get(port, path, AbortSignal.timeout(1000));
      if (r.ok) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw this.startError(`${what} did not answer ${path} on ${this.host}:${port}`, container);
  }

  private startError(why: string, container: string): EbbError {
    const tail = this.ctrs.get(container)?.tail ?? [];
    return new EbbError('lab_start_failed', `${why} in the ${this.opts.name} pod within ${this.opts.startTimeoutMs / 1000} s:\n${tail.slice(-10).map((l) => `    ${l}`).join('\n')}`);
  }

  /** A manifest port (number, or a name among the container's own ports, as the kubelet resolves it). */
  private portOf(container: string, port: number | string): number {
    if (typeof port === 'number') return port;
    if (/^\d+$/.test(port)) return Number(port);
    const r = resolveContainerPort(this.opts.model.containers.find((m) => m.name === container)?.spec ?? {}, port);
    return 'port' in r ? r.port : NaN;
  }

  // ---- ContainerDriver ----------------------------------------------------------------------

  /**
   * The stop signal to the container's init process, as the runtime (runc kill) delivers it.
   * Directly: `podman kill --signal` took 0.3-0.7 s per call on a busy 2-core machine, which would
   * move every TERM and KILL late. `podman kill` when the pid is not known.
   */
  signal(container: string, sig: NodeJS.Signals): void {
    const c = this.ctrs.get(container);
    if (!c || c.hasExited) return;
    if (c.pid > 0) {
      try { process.kill(c.pid, sig); return; } catch { /* gone, or not ours: ask podman */ }
    }
    this.spawnTracked(['kill', '--signal', sig, c.name]);
  }

  exited(container: string): Promise<void> {
    return this.ctrs.get(container)?.exited ?? Promise.resolve();
  }

  exec(container: string, command: string[], signal: AbortSignal): Promise<HookResult> {
    const c = this.ctrs.get(container);
    if (!c || c.hasExited) return Promise.resolve({ ok: false, detail: 'container not running' });
    return this.execIn(c, command, 24 * 3600_000, signal);
  }

  httpGet(container: string, action: Extract<PreStopAction, { kind: 'httpGet' }>, signal: AbortSignal): Promise<HookResult> {
    const port = this.portOf(container, action.port);
    if (!Number.isFinite(port)) return Promise.resolve({ ok: false, detail: `no port named ${String(action.port)}` });
    return this.get(port, action.path, signal);
  }

  private get(port: number, path: string, signal: AbortSignal): Promise<HookResult> {
    return hookGet({ host: this.host, port, path, agent: false, signal });
  }

  /** Removes the pod and everything in it, and waits for the watchers to end. */
  async kill(): Promise<void> {
    // The exit codes of containers that have exited: podman wait answers a little after the exit.
    const exitedOnes = [...this.ctrs.values()].filter((c) => c.hasExited).map((c) => c.waited);
    await Promise.race([Promise.all(exitedOnes), new Promise((r) => setTimeout(r, 5000))]);
    if (this.pod) await this.rereadLogs();
    if (this.pod) await this.opts.session.removePod(this.pod);
    for (const c of this.children) c.kill('SIGKILL');
    await Promise.race([Promise.all([...this.ctrs.values()].map((c) => c.exited)), new Promise((r) => setTimeout(r, 5000))]);
  }

  /** How this pod's exec hooks ran: `runc exec` when every container allowed it, else `podman exec`. */
  get execVia(): string {
    const all = [...this.ctrs.values()];
    return all.length && all.every((c) => c.runcId) ? 'runc exec' : 'podman exec';
  }

  tailOf(container: string): string[] {
    return this.ctrs.get(container)?.tail ?? [];
  }

  /** The container's exit code as podman reported it (null while running or unknown). */
  exitCodeOf(container: string): number | null {
    return this.ctrs.get(container)?.exitCode ?? null;
  }
}

/** Where clients send without ebb init's rules: the proxy's first inbound listener; undefined when the rules redirect the app's port. */
function inboundListenPort(c: PodContainer): number | undefined {
  if (envOf(c).EBB_TRANSPARENT === 'true') return undefined;
  return inboundListenPorts(c)[0] ?? 4143;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
