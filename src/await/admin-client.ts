import { request } from 'node:http';

/**
 * The two calls `ebb await` makes to the proxy's admin server: GET /ready (until 200) and
 * POST /shutdown. Plain node:http with no agent, so no keep-alive socket outlives a call and
 * holds the process open after the child has exited.
 */

export interface AdminAnswer { status: number; body: string; /** The proxy's shutdown phase (its `ebb-phase` header), if it sent one. */ phase?: string }

/** One HTTP exchange with a hard per-try timeout; rejects with a short, human-readable reason. */
export function adminCall(method: 'GET' | 'POST', host: string, port: number, path: string, timeoutMs: number): Promise<AdminAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method, agent: false, headers: { 'content-length': '0' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { if (body.length < 4096) body += d; });
      res.on('end', () => {
        clearTimeout(timer);
        const phase = res.headers['ebb-phase'];
        resolve({ status: res.statusCode ?? 0, body, ...(typeof phase === 'string' ? { phase } : {}) });
      });
      res.on('error', (err) => { clearTimeout(timer); reject(err); });
    });
    // A whole-exchange deadline rather than a socket idle timeout: a proxy that accepts and
    // then never answers must not stall the wait.
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.end();
  });
}

export function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') return 'connection refused (is the proxy running, and is this its admin port?)';
  if (e?.code === 'ECONNRESET') return 'connection reset';
  return e?.message ?? String(err);
}

export interface WaitOptions {
  host: string;
  port: number;
  timeoutMs: number;
  /** Upper bound for one GET /ready. */
  perTryMs?: number;
  /** First pause between tries; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Aborts the wait (a signal arrived before the command started). */
  abort?: AbortSignal;
}

export type WaitResult =
  | { ready: true; tries: number }
  | { ready: false; tries: number; last: string; aborted: boolean };

/** Polls GET /ready until it answers 200 or the overall timeout passes. At least one try is made. */
export async function waitForReady(o: WaitOptions): Promise<WaitResult> {
  const deadline = Date.now() + o.timeoutMs;
  const perTry = o.perTryMs ?? 1000;
  let backoff = o.initialBackoffMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 1000;
  let tries = 0;
  let last = 'no answer yet';
  for (;;) {
    if (o.abort?.aborted) return { ready: false, tries, last, aborted: true };
    tries++;
    const budget = Math.max(50, Math.min(perTry, deadline - Date.now()));
    try {
      const a = await adminCall('GET', o.host, o.port, '/ready', budget);
      // /ready stays 200 while a terminating proxy still serves (its `waiting` phase, for
      // kube-proxy's serving fallback); a command must not start then.
      if (a.status === 200 && (a.phase === undefined || a.phase === 'running')) return { ready: true, tries };
      if (a.status === 200) last = `HTTP 200 but the proxy is shutting down (${a.phase})`;
      else last = `HTTP ${a.status}${a.body.trim() ? ` ${JSON.stringify(a.body.trim().slice(0, 200))}` : ''}`;
    } catch (err) {
      last = describeError(err);
    }
    const left = deadline - Date.now();
    if (left <= 0) return { ready: false, tries, last, aborted: false };
    await pause(Math.min(backoff, left), o.abort);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
}

function pause(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(t); abort?.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}

export type ShutdownOutcome =
  | { ok: true; status: number }
  | { ok: false; status?: number; problem: string };

/**
 * POST /shutdown and judge the answer. Linkerd's wrapper ignores this answer, so when the endpoint
 * is disabled the Job silently never completes; here every non-2xx answer is a named problem.
 */
export async function requestShutdown(host: string, port: number, timeoutMs: number): Promise<ShutdownOutcome> {
  let a: AdminAnswer;
  try {
    a = await adminCall('POST', host, port, '/shutdown', timeoutMs);
  } catch (err) {
    return { ok: false, problem: `POST http://${host}:${port}/shutdown failed: ${describeError(err)}` };
  }
  if (a.status >= 200 && a.status < 300) return { ok: true, status: a.status };
  const body = a.body.trim() ? `: ${a.body.trim().slice(0, 300)}` : '';
  if (a.status === 404) {
    return {
      ok: false, status: 404,
      problem: `POST http://${host}:${port}/shutdown answered 404: the proxy's shutdown endpoint is not enabled ` +
        '(set EBB_SHUTDOWN_ENDPOINT=true or --shutdown-endpoint on the ebb-proxy container)',
    };
  }
  return { ok: false, status: a.status, problem: `POST http://${host}:${port}/shutdown answered HTTP ${a.status}${body}` };
}
