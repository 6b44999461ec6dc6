import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EBB_BIN } from '../helpers.js';

const HARNESS = fileURLToPath(new URL('./pidns-harness.js', import.meta.url));

export const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
export const UNSHARE_SKIP = canUnshare ? false : 'needs root and unshare(1) (util-linux)';
const running: ChildProcess[] = [];
/** Call from after(): kills any namespace still running (its PID 1 takes the rest with it). */
export function killNamespaces(): void { for (const c of running) c.kill('SIGKILL'); }
export interface Ev { ev: string; [k: string]: unknown }

/** Runs the harness as PID 1 of a new PID namespace and returns its events. */
export function runInPidNamespace(watcher: string[], appLifeAfterRestartMs: number): Promise<{ events: Ev[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const cfg = JSON.stringify({ watcher, ebb: EBB_BIN, appLifeAfterRestartMs });
    // --kill-child: if this test dies, the namespace's PID 1 (and so everything in it) goes too.
    const c = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, HARNESS, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.push(c);
    let out = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), 150_000);
    c.on('error', reject);
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev), stderr });
    });
  });
}

export function order(events: Ev[]): string[] {
  return events.map((e) => e.ev).filter((e) => e !== 'watcher');
}
