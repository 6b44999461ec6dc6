import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Drain } from '../drain/index.js';
import type { AdminServer } from './server.js';

/** The longest one timer can wait (setTimeout's limit); longer waits take several. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The `seconds` of a GET /prestop query: absent → 0; else a finite number of seconds >= 0, with
 * no upper bound (a grace period has none either, and `ebb inject` writes any W it is given).
 * Shared with `ebb check` and the lab (src/inject/prestop.ts), so what the endpoint refuses is
 * exactly what they call a hook that fails at once.
 */
export function parsePreStopSeconds(raw: string | null): { ok: true; seconds: number } | { ok: false; problem: string } {
  if (raw === null) return { ok: true, seconds: 0 };
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) {
    return { ok: false, problem: `seconds=${raw} must be a number of seconds >= 0` };
  }
  return { ok: true, seconds: n };
}

/**
 * GET /prestop?seconds=W: the proxy's own preStop hook (`ebb inject` writes it as an httpGet).
 * The kubelet calls it at t0, the moment the pod starts terminating, so the proxy learns it then
 * rather than at its TERM: it marks the drain terminating at once (HTTP/1 responses carry
 * Connection: close and idle keep-alive connections close; HTTP/2 clients get GOAWAY), then
 * answers 200 after W seconds, which makes the hook also the W-second wait before the proxy's TERM
 * (Linkerd's wait-before-exit: the proxy still handles TERM W seconds after t0).
 *
 * A failed hook makes the kubelet send TERM at once, so this never fails while the proxy lives:
 * only a bad `seconds` gets a 400 (at once, with what is wrong), and `ebb inject` never writes one.
 * It answers 200 also when the proxy is already shutting down. It stops waiting when the caller
 * goes away (the kubelet abandons a hook at the grace deadline). Not loopback-only: the kubelet
 * calls from the node; at worst a caller makes clients reconnect earlier, and nothing is refused.
 */
export function registerPreStop(admin: AdminServer, drain: Drain): void {
  admin.route('GET', '/prestop', async (req, res, url) => {
    const parsed = parsePreStopSeconds(url.searchParams.get('seconds'));
    if (!parsed.ok) { text(res, 400, `bad request: ${parsed.problem} (GET /prestop?seconds=W marks the pod terminating and answers after W seconds)\n`); return; }
    const started = performance.now();
    const first = drain.notifyTerminating(`preStop hook (GET /prestop?seconds=${parsed.seconds})`);
    if (parsed.seconds > 0) {
      const until = started + parsed.seconds * 1000;
      const gone = await new Promise<boolean>((resolve) => {
        let timer: NodeJS.Timeout;
        const onClose = (): void => { clearTimeout(timer); resolve(true); };
        const tick = (): void => {
          const left = until - performance.now();
          if (left <= 0) { req.socket.off('close', onClose); resolve(false); return; }
          timer = setTimeout(tick, Math.min(left, MAX_TIMER_MS));
        };
        req.socket.once('close', onClose);
        tick();
      });
      if (gone) return;
    }
    const waited = Math.round(performance.now() - started) / 1000;
    text(res, 200, `terminating${first ? '' : ' (already)'}: clients are told to leave; waited ${waited}s; phase ${drain.phase}\n`);
  });
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
