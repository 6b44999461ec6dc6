// Load generators: wrk (HTTP/1.1 keep-alive), h2load (h2c prior knowledge) and the bench's own
// bulk TCP echo client. Each runs pinned to the load CPU and returns one LoadResult.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned, run, tail, type Pinning } from './procs.js';

export interface LoadResult {
  /** req/s for wrk and h2load, MB/s (10^6 bytes, echoed back) for the echo client. */
  rate: number;
  unit: 'req/s' | 'MB/s';
  p50Us: number | null;
  p99Us: number | null;
  requests: number;
  /** Non-2xx responses plus socket errors/timeouts; a cell with errors is not a fair number. */
  errors: number;
  errorDetail: string;
}

export interface LoadOptions {
  pin: Pinning; warmupS: number; durationS: number; connections: number; tmp: string;
  /** Called when the warm-up is over and the measured part begins (to start sampling the proxy). */
  onMeasure: () => void;
}

/** For generators that warm up inside one process: signal the measured part after the warm-up. */
function measureAfterWarmup(o: LoadOptions): NodeJS.Timeout {
  return setTimeout(o.onMeasure, o.warmupS * 1000);
}

// wrk's done() hook gives exact percentiles (microseconds) as one parseable line.
const WRK_LUA = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

export async function wrk(wrkPath: string, url: string, o: LoadOptions): Promise<LoadResult> {
  const script = join(o.tmp, 'report.lua');
  writeFileSync(script, WRK_LUA);
  const args = (d: number): string[] => ['-t1', `-c${o.connections}`, `-d${d}s`, '--timeout', '5s', '-s', script, url];
  if (o.warmupS > 0) {
    const [cmd, a] = pinned(o.pin, 'load', wrkPath, args(o.warmupS));
    await run(cmd, a, (o.warmupS + 30) * 1000);
  }
  o.onMeasure();
  const [cmd, a] = pinned(o.pin, 'load', wrkPath, args(o.durationS));
  const r = await run(cmd, a, (o.durationS + 30) * 1000);
  const m = /WRKJSON (\{.*\})/.exec(r.output);
  if (!m) throw new Error(`wrk gave no result (exit ${r.code}): ${tail(r.output)}`);
  const j = JSON.parse(m[1]) as Record<string, number>;
  const sockErrors = j.connect + j.read + j.write + j.timeout;
  const errors = sockErrors + j.status;
  return {
    rate: j.requests / (j.durationUs / 1e6),
    unit: 'req/s',
    p50Us: j.p50,
    p99Us: j.p99,
    requests: j.requests,
    errors,
    errorDetail: errors ? `non-2xx/3xx ${j.status}, connect ${j.connect}, read ${j.read}, write ${j.write}, timeout ${j.timeout}` : '',
  };
}

/**
 * h2load: h2c with prior knowledge, or with `h1` HTTP/1.1 keep-alive; with `rps`, each client
 * sends at most that many requests per second (a fixed-rate load: latency, not throughput).
 */
export async function h2load(h2loadPath: string, url: string, o: LoadOptions & { streams: number; h1?: boolean; rps?: number }): Promise<LoadResult> {
  const log = join(o.tmp, 'h2load.log');
  writeFileSync(log, '');
  const args = ['-t1', `-c${o.connections}`, `-m${o.streams}`, `-D${o.durationS}`, `--warm-up-time=${o.warmupS}`, `--log-file=${log}`,
    ...(o.h1 ? ['--h1'] : []), ...(o.rps ? [`--rps=${o.rps}`] : []), url];
  const [cmd, a] = pinned(o.pin, 'load', h2loadPath, args);
  const timer = measureAfterWarmup(o);
  const r = await run(cmd, a, (o.warmupS + o.durationS + 30) * 1000);
  clearTimeout(timer);
  const fin = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(r.output);
  const reqs = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(r.output);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(r.output);
  if (!fin || !reqs) throw new Error(`h2load gave no result (exit ${r.code}): ${tail(r.output)}`);
  // h2load prints no percentiles; compute them from its per-request log (3rd column: µs to response end).
  const lat: number[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const cols = line.split('\t');
    if (cols.length >= 3 && cols[1].startsWith('2')) lat.push(Number(cols[2]));
  }
  lat.sort((x, y) => x - y);
  const pct = (p: number): number | null => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : null);
  const non2xx = codes ? Number(codes[2]) + Number(codes[3]) + Number(codes[4]) : 0;
  const failed = Number(reqs[5]) + Number(reqs[6]) + Number(reqs[7]);
  const errors = non2xx + failed;
  return {
    rate: Number(fin[2]),
    unit: 'req/s',
    p50Us: pct(50),
    p99Us: pct(99),
    requests: Number(reqs[4]),
    errors,
    errorDetail: errors ? `non-2xx ${non2xx}, failed ${reqs[5]}, errored ${reqs[6]}, timeout ${reqs[7]}` : '',
  };
}

const ECHO_CLIENT = fileURLToPath(new URL('../echo-client.js', import.meta.url));

export async function echo(port: number, o: LoadOptions): Promise<LoadResult> {
  const [cmd, a] = pinned(o.pin, 'load', process.execPath, [ECHO_CLIENT, String(port), String(o.connections), String(o.warmupS), String(o.durationS)]);
  const timer = measureAfterWarmup(o);
  const r = await run(cmd, a, (o.warmupS + o.durationS + 30) * 1000);
  clearTimeout(timer);
  const m = /(\{"bytes".*\})/.exec(r.output);
  if (!m) throw new Error(`echo client gave no result (exit ${r.code}): ${tail(r.output)}`);
  const j = JSON.parse(m[1]) as { bytes: number; seconds: number; errors: number };
  return {
    rate: j.bytes / j.seconds / 1e6,
    unit: 'MB/s',
    p50Us: null,
    p99Us: null,
    requests: 0,
    errors: j.errors,
    errorDetail: j.errors ? `socket errors ${j.errors}` : '',
  };
}
