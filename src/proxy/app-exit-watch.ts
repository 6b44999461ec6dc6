import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * `--exit-when-app-exits`: in a pod with `shareProcessNamespace: true` the proxy sees the app's
 * processes in /proc. Once it has seen an app process and then sees none for the settle time, the
 * app is done and the proxy shuts down as if it got TERM, so a classic-mode Job pod completes
 * without any change to the app image.
 *
 * What is *not* the app (see `classify`): the proxy itself, its ancestors (whatever started it in
 * its own container) and descendants, the pod's pause process, ebb's own helpers exec'd into the
 * proxy container (`ebb sleep` preStop, the `ebb await` postStart hook), zombies and kernel threads.
 * A process must also have been seen for `minAgeMs` before it counts, so a short-lived exec (a probe,
 * a hook) before the app starts cannot make the proxy leave early; and the settle time bridges a
 * container restart, whose new process appears a moment after the old one died.
 */

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Kernel task name (/proc/PID/comm, 15 chars max). */
  comm: string;
  /** R, S, D, Z, … from /proc/PID/stat. */
  state: string;
  /** Clock ticks since boot; with pid, identifies one process across pid reuse. */
  startTime: number;
  /** argv; empty for kernel threads and zombies. */
  argv: string[];
}

/** Reads one process; undefined if it vanished meanwhile (normal: /proc is a moving target). */
export function readProc(procRoot: string, pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8');
    // "pid (comm) state ppid …": comm may contain spaces and parentheses, so split at the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (open < 0 || close < open) return undefined;
    const comm = stat.slice(open + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    // rest[0] is field 3 (state), rest[1] field 4 (ppid), rest[19] field 22 (starttime).
    let argv: string[] = [];
    try {
      const raw = readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8');
      argv = raw.split('\0');
      if (argv.at(-1) === '') argv.pop();
    } catch { /* exited between the two reads, or hidden: classify by stat alone */ }
    return { pid, ppid: Number(rest[1]), comm, state: rest[0] ?? '?', startTime: Number(rest[19] ?? 0), argv };
  } catch {
    return undefined;
  }
}

export function scanProcesses(procRoot = '/proc'): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(procRoot, Number(name));
    if (p) out.push(p);
  }
  return out;
}

export type IgnoreReason = 'self' | 'ancestor' | 'descendant' | 'pause' | 'ebb-helper' | 'exited' | 'kernel-thread';

/** The ebb subcommand an argv runs (`ebb sleep 5`, `node /x/bin/ebb.js await`), if it is ebb at all. */
export function ebbSubcommand(argv: readonly string[]): { sub: string; rest: string[] } | undefined {
  for (let i = 0; i < Math.min(argv.length, 3); i++) {
    const base = (argv[i] ?? '').split('/').pop() ?? '';
    if (/^(ebb|kubectl-ebb)(\.js)?$/.test(base) && i + 1 < argv.length) return { sub: argv[i + 1]!, rest: argv.slice(i + 2) };
  }
  return undefined;
}

function isEbbHelper(argv: readonly string[]): boolean {
  const e = ebbSubcommand(argv);
  if (!e) return false;
  // A preStop `ebb sleep N` in the proxy container is never the app.
  if (e.sub === 'sleep') return true;
  // `ebb await` without a command is the classic-mode postStart hook (an exec in the proxy
  // container); `ebb await … -- CMD` wraps an app (the `await` job mode) and IS the app.
  if (e.sub === 'await') return !e.rest.includes('--');
  return false;
}

/** Splits a process table into the app's processes and the rest, with why each was set aside. */
export function classify(procs: readonly ProcInfo[], selfPid: number): { app: ProcInfo[]; ignored: Map<number, IgnoreReason> } {
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const ignored = new Map<number, IgnoreReason>();
  ignored.set(selfPid, 'self');
  // Ancestors: what started the proxy inside its own container (a shell, tini), or the
  // namespace's init when the proxy runs under one.
  for (let p = byPid.get(selfPid), hops = 0; p && p.ppid > 0 && hops < 64; p = byPid.get(p.ppid), hops++) {
    if (!ignored.has(p.ppid)) ignored.set(p.ppid, 'ancestor');
  }
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  const queue = [...(children.get(selfPid) ?? [])];
  for (let i = 0; i < queue.length && i < 100_000; i++) {
    const pid = queue[i]!;
    if (!ignored.has(pid)) ignored.set(pid, 'descendant');
    queue.push(...(children.get(pid) ?? []));
  }
  const app: ProcInfo[] = [];
  for (const p of procs) {
    if (ignored.has(p.pid)) continue;
    let why: IgnoreReason | undefined;
    if (p.state === 'Z' || p.state === 'X') why = 'exited';
    else if (p.pid === 2 || p.ppid === 2) why = 'kernel-thread';
    else if (isPauseProcess(p)) why = 'pause';
    else if (isEbbHelper(p.argv)) why = 'ebb-helper';
    if (why) ignored.set(p.pid, why);
    else app.push(p);
  }
  return { app, ignored };
}

/**
 * The pod's pause process (the holder of its namespaces): Kubernetes' `pause`, or podman's pod
 * infra container, `catatonit -P` (its pause mode), as pid 1 or a process whose parent is outside.
 */
function isPauseProcess(p: ProcInfo): boolean {
  if (p.pid !== 1 && p.ppid !== 0) return false;
  return p.comm === 'pause' || (p.comm === 'catatonit' && p.argv.includes('-P'));
}

export interface AppExitWatchOptions {
  /** Called once, when the app has been seen and then gone for settleMs. */
  onAppExited: (info: { lastSeen: Array<{ pid: number; comm: string; argv: string[] }>; settleMs: number }) => void;
  /** Called once, the first time an app process counts as seen. */
  onAppSeen?: (info: { pid: number; comm: string; argv: string[] }) => void;
  procRoot?: string;
  selfPid?: number;
  pollMs?: number;
  /** How long the app must be gone before the proxy leaves; bridges a container restart. */
  settleMs?: number;
  /** How long a process must have been around to count as the app; filters short-lived execs. */
  minAgeMs?: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

export const APP_EXIT_DEFAULTS = { pollMs: 250, settleMs: 5000, minAgeMs: 500 } as const;

export type WatchPhase = 'waiting-for-app' | 'app-running' | 'settling' | 'app-exited' | 'stopped';

/**
 * Polls /proc. Phases: waiting-for-app → app-running ⇄ settling → app-exited. Polling rather than
 * pidfds or netlink because other containers' processes are not our children and the proxy runs
 * unprivileged; one readdir of a pod's small /proc every 250 ms is cheap.
 */
export class AppExitWatcher {
  phase: WatchPhase = 'waiting-for-app';
  private timer: NodeJS.Timeout | undefined;
  /** "pid:starttime" → when first seen. */
  private readonly firstSeen = new Map<string, number>();
  private lastApp: ProcInfo[] = [];
  private goneSince: number | undefined;
  private readonly o: Required<Omit<AppExitWatchOptions, 'onAppSeen'>> & Pick<AppExitWatchOptions, 'onAppSeen'>;

  constructor(opts: AppExitWatchOptions) {
    this.o = {
      procRoot: '/proc', selfPid: process.pid, now: () => performance.now(), ...APP_EXIT_DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as typeof this.o;
  }

  start(): this {
    if (this.timer || this.phase === 'app-exited' || this.phase === 'stopped') return this;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.o.pollMs);
    // The watcher alone must never keep the proxy alive.
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.phase !== 'app-exited') this.phase = 'stopped';
  }

  /** One observation; public so tests can drive it with a fake /proc and clock. */
  tick(): void {
    if (this.phase === 'app-exited' || this.phase === 'stopped') return;
    const now = this.o.now();
    let procs: ProcInfo[];
    try {
      procs = scanProcesses(this.o.procRoot);
    } catch {
      return; // /proc unreadable this round; try again next tick
    }
    const { app } = classify(procs, this.o.selfPid);
    const present = new Set<string>();
    let counted: ProcInfo | undefined;
    for (const p of app) {
      const key = `${p.pid}:${p.startTime}`;
      present.add(key);
      if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
      if (!counted && now - this.firstSeen.get(key)! >= this.o.minAgeMs) counted = p;
    }
    for (const key of this.firstSeen.keys()) if (!present.has(key)) this.firstSeen.delete(key);

    if (this.phase === 'waiting-for-app') {
      if (counted) {
        this.phase = 'app-running';
        this.lastApp = app;
        this.o.onAppSeen?.({ pid: counted.pid, comm: counted.comm, argv: counted.argv });
      }
      return;
    }
    if (app.length > 0) {
      // Anything still (or again) there, however young, means not done: a restarted container's
      // new process, or a last exec finishing.
      this.lastApp = app;
      this.goneSince = undefined;
      this.phase = 'app-running';
      return;
    }
    this.goneSince ??= now;
    this.phase = 'settling';
    if (now - this.goneSince >= this.o.settleMs) {
      this.phase = 'app-exited';
      this.stop();
      this.o.onAppExited({
        lastSeen: this.lastApp.map((p) => ({ pid: p.pid, comm: p.comm, argv: p.argv })),
        settleMs: this.o.settleMs,
      });
    }
  }
}

/** What the proxy needs from its drain: a way to start shutdown and to hear that it started. */
interface DrainLike {
  trigger(reason: string): boolean;
  on(phase: 'waiting', fn: () => void): void;
}
interface LogLike {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * `--exit-when-app-exits`: starts the watcher; when the app is done, shuts down exactly as TERM
 * would (reason `app-exited`). A shutdown started otherwise (TERM, /shutdown) stops the watch.
 */
export function watchForAppExit(drain: DrainLike, log: LogLike, settleMs: number, opts: Partial<AppExitWatchOptions> = {}): AppExitWatcher {
  let seen = false;
  const w = new AppExitWatcher({
    settleMs,
    ...opts,
    onAppSeen: (p) => { seen = true; log.info({ pid: p.pid, comm: p.comm, argv: p.argv.slice(0, 8) }, 'app seen'); },
    onAppExited: (i) => {
      log.info({ settleMs: i.settleMs, lastSeen: i.lastSeen.map((p) => ({ pid: p.pid, comm: p.comm })) }, 'app exited');
      drain.trigger('app-exited');
    },
  }).start();
  drain.on('waiting', () => w.stop());
  log.info({ settleMs }, 'watching for the app to exit (--exit-when-app-exits)');
  // The usual mistake is a pod without shareProcessNamespace: the proxy then never sees the app.
  const hint = setTimeout(() => {
    if (!seen && w.phase === 'waiting-for-app') {
      log.warn({}, 'no app process seen in /proc after 60s: is shareProcessNamespace: true set on the pod? Without it the proxy cannot see the app and will not leave on its own');
    }
  }, 60_000);
  hint.unref();
  return w;
}
