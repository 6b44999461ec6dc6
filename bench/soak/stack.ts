// The processes a soak runs: the app (bench/soak/app.ts) and a real `ebb proxy` in front of it,
// one inbound listener per app listener, all on 127.0.0.1 with kernel-chosen ports.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV } from '../../src/proxy/memory-relief.js';
import { rssBytes, start, stop, tail, type Proc } from '../lib/procs.js';
import type { Ports } from './clients.js';

export interface AppPorts { http: number; h2c: number; grpc: number; tcp: number }

/** bin/ebb.js of this checkout, or EBB_SOAK_BIN / --ebb-bin to measure another build. */
export const DEFAULT_EBB_BIN = process.env.EBB_SOAK_BIN ?? fileURLToPath(new URL('../../../bin/ebb.js', import.meta.url));

export interface App { ports: AppPorts; pid: number; stop(): Promise<void> }

export async function startApp(): Promise<App> {
  // stdin is a pipe: the app exits when it closes, so it never outlives a soak killed with SIGKILL.
  const child = spawn(process.execPath, [fileURLToPath(new URL('./app.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const ports = await new Promise<AppPorts>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) { try { resolve(JSON.parse(line) as AppPorts); } catch (e) { reject(e as Error); } }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('exit', (code) => reject(new Error(`the soak app exited (${code}) before listening: ${tail(out)}`)));
  });
  const exited = new Promise<void>((r) => { if (child.exitCode !== null) r(); else child.on('exit', () => r()); });
  process.on('exit', () => child.kill('SIGKILL'));
  return {
    ports, pid: child.pid!,
    stop: async () => { child.kill('SIGTERM'); const t = setTimeout(() => child.kill('SIGKILL'), 2000); await exited; clearTimeout(t); },
  };
}

export interface LogLine { msg?: string; [k: string]: unknown }

export interface Ebb {
  proc: Proc;
  pid: number;
  ports: Ports;
  admin: number;
  logs: LogLine[];
  /** The "shutdown complete" line, once logged. */
  summary(): LogLine | undefined;
  term(): void;
  /** Waits for the exit, SIGKILL after ms; the exit code, or null when it had to be killed. */
  exit(ms: number): Promise<{ code: number | null; signal: string | null; killed: boolean }>;
  stop(): Promise<void>;
}

export interface EbbOptions { bin: string; waitBeforeExit: number; drainTimeout: number; logLevel?: string; extraArgs?: string[]; env?: NodeJS.ProcessEnv }

export async function startEbb(app: AppPorts, o: EbbOptions): Promise<Ebb> {
  const logs: LogLine[] = [];
  let listening: (l: LogLine) => void = () => {};
  const gotListening = new Promise<LogLine>((r) => { listening = r; });
  const args = [
    o.bin, 'proxy', '--inbound-host', '127.0.0.1', '--admin-port', '0',
    '--inbound', `0:${app.http}`, '--inbound', `0:${app.h2c}`, '--inbound', `0:${app.grpc}`, '--inbound', `0:${app.tcp}`,
    '--opaque-ports', String(app.tcp),
    '--wait-before-exit', String(o.waitBeforeExit), '--drain-timeout', String(o.drainTimeout),
    '--log-level', o.logLevel ?? 'info', ...(o.extraArgs ?? []),
  ];
  const proc = start(process.execPath, args, {
    env: { ...IMAGE_ENV, ...o.env }, // as the image runs it
    onLine: (line) => {
      if (!line.startsWith('{')) return;
      let l: LogLine;
      try { l = JSON.parse(line) as LogLine; } catch { return; }
      if (logs.length < 10_000 || l.msg === 'shutdown complete') logs.push(l);
      if (l.msg === 'listening') listening(l);
    },
  });
  const l = await Promise.race([gotListening, proc.exited.then(() => { throw new Error(`ebb proxy exited before listening: ${tail(proc.output())}`); })]);
  const inbound = l.inbound as Array<{ port: number; appPort: number }>;
  const portFor = (appPort: number): number => inbound.find((i) => i.appPort === appPort)!.port;
  return {
    proc, pid: proc.pid, logs, admin: l.admin as number,
    ports: { h1: portFor(app.http), h2: portFor(app.h2c), grpc: portFor(app.grpc), tcp: portFor(app.tcp) },
    summary: () => logs.find((x) => x.msg === 'shutdown complete'),
    term: () => { proc.child.kill('SIGTERM'); },
    exit: async (ms) => {
      let killed = false;
      const t = setTimeout(() => { killed = true; proc.child.kill('SIGKILL'); }, ms);
      const r = await proc.exited;
      clearTimeout(t);
      return { code: r.code, signal: r.signal, killed };
    },
    stop: () => stop(proc, 1000),
  };
}

/** Open file descriptors of a process (entries of /proc/PID/fd), or null when it is gone. */
export function fdCount(pid: number): number | null {
  try { return readdirSync(`/proc/${pid}/fd`).length; } catch { return null; }
}

export interface Sample { t: number; rss: number; fds: number }

/** RSS and fds of pid every everyMs, until stopped or the process is gone. */
export class Curve {
  readonly samples: Sample[] = [];
  private readonly t0 = Date.now();
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number, everyMs = 1000) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  sample(): Sample | null {
    const rss = rssBytes(this.pid);
    const fds = fdCount(this.pid);
    if (rss === null || fds === null) return null;
    const s = { t: Date.now() - this.t0, rss, fds };
    this.samples.push(s);
    return s;
  }
  stop(): void { clearInterval(this.timer); }
}

export const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
