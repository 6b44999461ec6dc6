import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Command } from 'commander';
import { EbbError, EXIT, UsageError } from '../errors.js';
import { adminCall, requestShutdown } from '../await/admin-client.js';

/**
 * `ebb shutdown [--admin-port N] [--wait]`: ask the proxy to drain now, from outside. For
 * exec-based sidecar killers (Argo's, Tekton's, custom operators'), which run a command in the
 * sidecar container: the distroless image has no shell or curl, only ebb. It POSTs /shutdown on
 * the admin port; where that endpoint is off (404) and the pod shares its process namespace (or
 * the command runs in the proxy's container), it sends SIGTERM to the `ebb proxy` process instead.
 * With --wait it returns once the proxy has exited (its admin port refuses connections).
 */
export function register(program: Command): void {
  program
    .command('shutdown')
    .description('ask the local ebb proxy to drain and exit now (POST /shutdown, else SIGTERM to it); an exec command for sidecar killers')
    .option('--admin-port <port>', 'the proxy admin port', '4191')
    .option('--wait', 'return only once the proxy has exited')
    .option('--timeout <seconds>', 'with --wait: give up after this many seconds (exit 1)', '120')
    .action(async (flags: { adminPort: string; wait?: boolean; timeout: string }) => {
      const port = Number(flags.adminPort);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`shutdown: --admin-port must be a port number 1-65535, not "${flags.adminPort}"`);
      const timeout = Number(flags.timeout);
      if (flags.timeout.trim() === '' || !Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`shutdown: --timeout must be seconds > 0, not "${flags.timeout}"`);
      const asked = await requestShutdown('127.0.0.1', port, 5000);
      if (asked.ok) process.stderr.write(`ebb shutdown: the proxy on :${port} is shutting down (POST /shutdown answered ${asked.status})\n`);
      else {
        const pids = asked.status === 404 ? proxyPids(port) : [];
        if (pids.length === 0) throw new EbbError('shutdown_failed', `shutdown: ${asked.problem}${asked.status === 404 ? '; and no `ebb proxy` process is visible here to signal (share the pod\'s process namespace, or run this in the ebb-proxy container)' : ''}`);
        for (const pid of pids) process.kill(pid, 'SIGTERM');
        process.stderr.write(`ebb shutdown: the shutdown endpoint is off; sent SIGTERM to ebb proxy (pid ${pids.join(', ')})\n`);
      }
      if (!flags.wait) return;
      const until = Date.now() + timeout * 1000;
      for (;;) {
        try {
          await adminCall('GET', '127.0.0.1', port, '/live', 1000);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
            process.stderr.write('ebb shutdown: the proxy has exited\n');
            return;
          }
        }
        if (Date.now() >= until) throw new EbbError('shutdown_timeout', `shutdown: the proxy on :${port} was still running after ${timeout}s`, EXIT.failure);
        await new Promise((r) => setTimeout(r, 200));
      }
    });
}

/**
 * The `ebb proxy` process that listens on the admin port, found through /proc: the inode of the
 * listening socket on that port (/proc/net/tcp, tcp6), then the process holding it. Only that one
 * is signalled, never any other proxy that happens to be visible.
 */
function proxyPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is the 10th field.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return [];
  let entries: string[];
  try { entries = readdirSync('/proc'); } catch { return []; }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^[0-9]+$/.test(e) || Number(e) === process.pid) continue;
    let argv: string[];
    let fds: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      fds = readdirSync(`/proc/${e}/fd`);
    } catch { continue; }
    const i = argv.findIndex((a) => /(^|\/)(ebb|ebb\.js|kubectl-ebb)$/.test(a));
    if (i < 0 || argv[i + 1] !== 'proxy') continue;
    const holds = fds.some((fd) => {
      try { return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${e}/fd/${fd}`))?.[1] ?? ''); } catch { return false; }
    });
    if (holds) out.push(Number(e));
  }
  return out;
}
