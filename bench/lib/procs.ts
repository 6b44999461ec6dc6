// Child processes for the bench: spawn pinned to a CPU, wait until a port accepts, sample /proc, stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where a tool lives, looking in PATH and the sbin folders a non-root PATH often lacks; null if absent. */
export function findTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* not here */ }
  }
  return null;
}

/**
 * CPU pinning plan. `taskset` null means "run unpinned" (taskset missing or a single CPU).
 * `upstreamCpu` is the proxy's CPU (layout shared) or the load generator's (layout alone).
 */
export interface Pinning { taskset: string | null; proxyCpu: number; loadCpu: number; upstreamCpu: number }

export function pinned(pin: Pinning, which: 'proxy' | 'load' | 'upstream', cmd: string, args: string[]): [string, string[]] {
  if (!pin.taskset) return [cmd, args];
  const cpu = which === 'proxy' ? pin.proxyCpu : which === 'load' ? pin.loadCpu : pin.upstreamCpu;
  // taskset execs the command, so the child's pid is the measured process itself.
  return [pin.taskset, ['-c', String(cpu), cmd, ...args]];
}

const children = new Set<ChildProcess>();

/** Kills every child still running; called on exit so a crashed run leaves nothing behind. */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything the process wrote, kept for error messages (capped). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ? { ...process.env, ...opts.env } : undefined, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let partial = '';
  const take = (d: string): void => {
    if (out.length < 64_000) out += d;
    if (!opts.onLine) return;
    partial += d;
    let i: number;
    while ((i = partial.indexOf('\n')) >= 0) {
      opts.onLine(partial.slice(0, i));
      partial = partial.slice(i + 1);
    }
  };
  child.stdout!.setEncoding('utf8').on('data', take);
  child.stderr!.setEncoding('utf8').on('data', take);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('error', (err) => { take(String(err)); resolve({ code: -1, signal: null }); });
    child.on('exit', (code, signal) => { children.delete(child); resolve({ code, signal }); });
  });
  return { child, pid: child.pid ?? -1, output: () => out, exited };
}

/** Runs a command to completion and returns its stdout+stderr. */
export async function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const p = start(cmd, args);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output() };
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** A port that was free a moment ago (bind 0, read, close). Racy by nature, good enough on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once 127.0.0.1:port accepts a connection; rejects if the process exits or time runs out. */
export async function waitForPort(port: number, p: Proc, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void p.exited.then(() => { dead = true; });
  while (Date.now() < deadline) {
    if (dead) throw new Error(`exited before listening on ${port}: ${tail(p.output())}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms: ${tail(p.output())}`);
}

/** The last n characters of a process's output, on one line (for notes and the table). */
export function tail(s: string, n = 400): string {
  const t = s.trim().split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');
  return t.length > n ? '…' + t.slice(-n) : t;
}

/** VmRSS of a process in bytes, or null when it is gone / not on Linux. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** utime+stime of a process in clock ticks (USER_HZ, 100 on Linux), or null. */
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces; everything after the last ')' is fixed-position.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

/** Samples a process while a load runs: peak RSS and the CPU share it used. */
export class Sampler {
  private peak = 0;
  private readonly t0 = process.hrtime.bigint();
  private readonly ticks0: number | null;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number, everyMs = 200) {
    this.ticks0 = cpuTicks(pid);
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  private sample(): void {
    const r = rssBytes(this.pid);
    if (r !== null && r > this.peak) this.peak = r;
  }
  finish(): { rssPeak: number | null; cpuPercent: number | null } {
    clearInterval(this.timer);
    this.sample();
    const ticks1 = cpuTicks(this.pid);
    const secs = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const cpu = this.ticks0 !== null && ticks1 !== null && secs > 0 ? ((ticks1 - this.ticks0) / 100 / secs) * 100 : null;
    return { rssPeak: this.peak || null, cpuPercent: cpu };
  }
}
