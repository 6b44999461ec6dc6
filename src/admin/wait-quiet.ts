import type { ServerResponse } from 'node:http';
import { AUTO_DEFAULTS, waitForQuiet, type Drain, type WaitSpec } from '../drain/index.js';
import type { AdminServer } from './server.js';

/** The quiet period, minimum and maximum /wait-quiet uses when the query does not say. */
export function waitQuietDefaults(spec: WaitSpec): { minSeconds: number; quietSeconds: number; maxSeconds: number } {
  return spec.mode === 'auto' ? { minSeconds: spec.minSeconds, quietSeconds: spec.quietSeconds, maxSeconds: spec.maxSeconds } : { ...AUTO_DEFAULTS };
}

/**
 * GET /wait-quiet?max=S[&quiet=S][&min=S]: answers 200 once inbound traffic has been quiet (no new
 * inbound connection or request) for the quiet period, and at least `min` seconds after the
 * request came; 200 with a note at `max`. It changes no state, so an app container's preStop can
 * be an httpGet to it: the kubelet sends the app TERM only after traffic to the pod has stopped.
 * Defaults: the proxy's auto MIN/QUIET/MAX, or 2/2/25.
 */
export function registerWaitQuiet(admin: AdminServer, drain: Drain, spec: WaitSpec, transparent: boolean): void {
  const defaults = waitQuietDefaults(spec);
  // What "quiet" is measured on. Without ebb init's rules a Service that targets the app's own port
  // reaches the app past the proxy, and that traffic never counts: the answer says so.
  const sees = transparent
    ? { sees: 'all inbound TCP to the pod (transparent)' }
    : { sees: 'only traffic sent to the proxy\'s inbound ports', caveat: 'not transparent: connections straight to the app\'s own port bypass the proxy and are not seen; quiet here does not mean the app is idle unless every Service targets an ebb-in-<port> port' };
  admin.route('GET', '/wait-quiet', async (req, res, url) => {
    const problems: string[] = [];
    const param = (name: string, fallback: number, positive = false): number => {
      const raw = url.searchParams.get(name);
      if (raw === null) return fallback;
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (positive && n === 0) || n > 3600) {
        problems.push(`${name}=${raw} must be seconds ${positive ? '> 0' : '>= 0'} and at most 3600`);
        return fallback;
      }
      return n;
    };
    const max = param('max', defaults.maxSeconds);
    const quiet = param('quiet', defaults.quietSeconds, true);
    const min = Math.min(param('min', defaults.minSeconds), max);
    if (problems.length) { json(res, 400, { error: problems.join('; ') }); return; }
    const started = performance.now();
    const ac = new AbortController();
    // The kubelet abandons a hook at the grace deadline: stop waiting when the caller goes away.
    req.socket.once('close', () => ac.abort());
    const r = await waitForQuiet(drain.activity, { minMs: min * 1000, quietMs: quiet * 1000, maxMs: max * 1000, signal: ac.signal });
    if (r === 'aborted') return;
    const waitedSeconds = round((performance.now() - started) / 1000);
    const q = drain.activity.quietMs();
    const quietSeconds = Number.isFinite(q) ? round(q / 1000) : null;
    if (r === 'quiet') json(res, 200, { quiet: true, waitedSeconds, quietSeconds, phase: drain.phase, ...sees });
    else json(res, 200, { quiet: false, waitedSeconds, quietSeconds, phase: drain.phase, note: `max ${max}s reached before inbound traffic was quiet for ${quiet}s`, ...sees });
  });
}

const round = (n: number): number => Math.round(n * 1000) / 1000;

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
