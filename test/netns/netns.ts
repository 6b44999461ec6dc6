/**
 * Real network namespaces for the transparent-interception tests.
 *
 * Every namespace gets a name unique to this run, is recorded before anything else happens, and is
 * deleted in `cleanup()` (call it from after()) and, as a last resort, on process exit, so a failing
 * or interrupted test never leaves one behind. Interfaces are created directly inside the namespaces
 * (`ip link add … netns`), so nothing ever appears in the host's namespace, and addresses come from
 * 198.18.0.0/15 (RFC 2544, benchmarking), which exist only inside them.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EBB_BIN } from '../helpers.js';

/** Why this machine cannot run the namespace tests (shared with `ebb lab --transparent`). */
export { netnsUnavailableReason } from '../../src/lab/netns.js';

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
}

export interface Captured { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> }

export class Namespaces {
  readonly id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly names: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = (): void => this.cleanupSync();

  constructor() { process.on('exit', this.onExit); }

  /** Creates a namespace `ebbt-<role>-<run id>` with loopback up. */
  create(role: string): string {
    const name = `ebbt-${role}-${this.id}`;
    this.names.push(name);
    sh('ip', ['netns', 'add', name]);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Joins two namespaces with a veth pair named eth0 on both sides, addressed a/24 and b/24. */
  link(a: string, addrA: string, b: string, addrB: string): void {
    sh('ip', ['link', 'add', 'name', 'eth0', 'netns', a, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', b]);
    for (const [ns, addr] of [[a, addrA], [b, addrB]] as const) {
      sh('ip', ['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
  }

  /** argv that runs `cmd args` inside namespace `ns`, optionally as uid/gid (nsenter execs: the pid is the command's). */
  argv(ns: string, cmd: string, args: string[], uid?: number): string[] {
    const user = uid === undefined ? [] : [`--setuid=${uid}`, `--setgid=${uid}`];
    return ['nsenter', `--net=/run/netns/${ns}`, ...user, '--', cmd, ...args];
  }

  /** Starts a process inside `ns`; it is killed in cleanup. */
  spawn(ns: string, cmd: string, args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Captured {
    const [bin, ...rest] = this.argv(ns, cmd, args, opts.uid);
    const spawnOpts: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } };
    const child = spawn(bin!, rest, spawnOpts);
    this.children.add(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('close', (code, signal) => { this.children.delete(child); resolve({ code, signal }); });
    });
    return { child, stdout: () => out, stderr: () => err, exited };
  }

  /** Runs a process inside `ns` to completion. */
  async run(ns: string, cmd: string, args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const p = this.spawn(ns, cmd, args, opts);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    const { code } = await p.exited;
    clearTimeout(timer);
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  }

  /** `ebb ARGS…` inside `ns`. */
  ebb(ns: string, args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return this.run(ns, process.execPath, [EBB_BIN, ...args], opts);
  }

  /** Kills what is still running and deletes every namespace this run created. Idempotent. */
  async cleanup(): Promise<void> {
    const waits = [...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) { resolve(); return; }
      c.once('close', () => resolve());
      c.kill('SIGKILL');
    }));
    await Promise.all(waits);
    this.cleanupSync();
  }

  private cleanupSync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    while (this.names.length > 0) spawnSync('ip', ['netns', 'del', this.names.pop()!]);
    process.off('exit', this.onExit);
  }
}
