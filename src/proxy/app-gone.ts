import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * "Is the app gone?" for the outbound listener's shutdown policy in classic mode, where the proxy
 * gets TERM while the app still runs and may still call out. The app counts as gone once every
 * port it serves refuses connections on 127.0.0.1 (ECONNREFUSED: nothing listens) without a break
 * for `settleMs`, so a brief gap (a listener being re-bound) does not cut its outbound calls, and
 * nothing is `busy`: many apps close their listener first thing at TERM and then finish the
 * requests in flight, calling out as they do, so the app is not gone while the proxy still has
 * inbound requests in flight to it.
 */
export const APP_GONE_SETTLE_MS = 2_000;
export const APP_GONE_PROBE_INTERVAL_MS = 250;
const PROBE_TIMEOUT_MS = 1_000;

/** true when 127.0.0.1:port refuses a connection; false when something accepts (or it is unclear). */
export function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (refused: boolean): void => { clearTimeout(timer); s.destroy(); resolve(refused); };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    s.once('connect', () => done(false));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
  });
}

export interface AppGoneOptions {
  /** The app's ports, read at every probe (transparent mode learns them from inbound traffic). */
  readonly ports: () => readonly number[];
  readonly settleMs?: number;
  readonly intervalMs?: number;
  readonly signal: AbortSignal;
  /** true while the app still has work in flight (the proxy's inbound requests to it): never gone then. */
  readonly busy?: () => boolean;
}

/** Resolves once the app is gone; never resolves (until aborted) while no app port is known. */
export async function waitForAppGone(opts: AppGoneOptions): Promise<'app-gone' | 'aborted'> {
  const settleMs = opts.settleMs ?? APP_GONE_SETTLE_MS;
  const intervalMs = opts.intervalMs ?? APP_GONE_PROBE_INTERVAL_MS;
  let refusingSince: number | null = null;
  while (!opts.signal.aborted) {
    const ports = opts.ports();
    const allRefuse = ports.length > 0 && (await Promise.all(ports.map(refuses))).every(Boolean);
    const now = Date.now();
    if (!allRefuse || opts.busy?.()) refusingSince = null;
    else if (refusingSince === null) refusingSince = now;
    else if (now - refusingSince >= settleMs) return 'app-gone';
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      opts.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }
  return 'aborted';
}

/**
 * TCP ports something listens on in this network namespace (/proc/net/tcp and tcp6, state 0A =
 * LISTEN), except `own`. In a pod that is the app's ports: how the proxy learns them when none
 * were configured and no inbound connection has shown one yet. Empty where /proc is unavailable.
 */
export function listeningPorts(own: readonly number[]): number[] {
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== '0A' || !f[1]) continue;
      const port = parseInt(f[1].split(':').at(-1)!, 16);
      if (!own.includes(port)) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
