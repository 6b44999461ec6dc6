import v8 from 'node:v8';
import vm from 'node:vm';
import type { ProxyContext } from './context.js';

/**
 * Memory that comes back after a burst (an attack, a spike of connections). Two things keep it
 * resident once the connections that needed it are gone:
 * - V8 collects its old generation when allocation asks for it, not when the process goes idle: an
 *   idle proxy keeps the burst's garbage, and with it the native memory its objects own (nghttp2
 *   sessions, socket buffers), for as long as it stays idle;
 * - glibc gives freed C heap back to the kernel only from the top of an arena: pages freed in the
 *   middle stay resident until malloc_trim.
 * So when RSS is more than `growth` over the level reliefs bring it back to, and no new connection or
 * request came for 2 s (or the load, client connections and requests in flight, fell from a peak
 * of 8 or more to a quarter of it), the proxy runs a full GC, a second one half a second later,
 * and malloc_trim (the native addon's; skipped when it is missing); if RSS is still up, it tries
 * again 3 s later, four times at most. At most once per `minGapMs`, never while the load is at
 * its peak: a busy proxy is left to V8's own schedule. A full GC of the proxy's heap (a few MiB)
 * takes milliseconds.
 */
const SECOND_GC_MS = 500;
/** No new connection or request for this long: the burst is over. */
const QUIET_MS = 2000;
/**
 * After a relief that left RSS up, the next try. V8 measures allocation over its last 5 s and
 * shrinks the young generation only once that rate is low, and some memory of the burst's
 * connections is freed seconds after they closed (measured: back by 6 to 12 s after the last one):
 * a few tries 3 s apart catch it.
 */
const RETRY_MS = 3000;
const MAX_MISSES = 4;

export interface MemoryReliefOptions {
  readonly intervalMs?: number;
  readonly minGapMs?: number;
  /** RSS over the last relief's by this factor (1.1 = 10 %) makes a relief worth it. */
  readonly growth?: number;
}

export interface MemoryRelief {
  /** Reliefs run so far. */
  readonly count: number;
  stop(): void;
}

/**
 * V8's gc(), made reachable without --expose-gc on the command line; null if V8 refuses. The
 * `last-resort` flavor is V8's full collection for low memory (what the inspector's
 * HeapProfiler.collectGarbage runs): it also compacts and hands the freed heap pages back, where a
 * plain gc() keeps them for the next allocations (measured: RSS unchanged after a plain gc()).
 */
function exposeGc(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    const run = gc as (o?: object) => void;
    return () => {
      // Two scavenges first: each records an allocation sample, so V8 sees that the burst's
      // allocation rate is over and the full GC also shrinks the young generation (measured: the
      // shrink then comes a couple of seconds sooner).
      run({ type: 'minor' });
      run({ type: 'minor' });
      run({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    };
  } catch {
    return null;
  }
}

export function startMemoryRelief(ctx: ProxyContext, trim: (() => boolean) | null, o: MemoryReliefOptions = {}): MemoryRelief {
  const intervalMs = o.intervalMs ?? 1000;
  const minGapMs = o.minGapMs ?? 3000;
  const growth = o.growth ?? 1.1;
  const gc = exposeGc();
  if (!gc) ctx.log.debug('memory relief: V8 gave no gc(); RSS after a burst comes back only when V8 collects by itself');
  // The RSS a relief brings the proxy back to. It rises only when reliefs on an idle proxy free
  // too little, MAX_MISSES times running (the memory is in use, or malloc will not give it back): then
  // that is the new level, and the proxy does not collect again for nothing.
  let floor = process.memoryUsage.rss();
  let peakLoad = 0;
  let last = -Infinity;
  let misses = 0;
  let count = 0;
  let running = false;
  const load = (): number => ctx.connections.open + ctx.drain.requestsInFlight;

  const relieve = (rssBefore: number, quiet: boolean, loadNow: number): void => {
    running = true;
    last = performance.now();
    gc?.();
    // Objects the first GC found dead free their native memory in weak callbacks, after it: a
    // second GC a moment later collects what those freed, then the C heap is trimmed.
    setTimeout(() => {
      running = false;
      gc?.();
      const trimmed = trim?.() ?? false;
      const m = process.memoryUsage();
      count++;
      ctx.log.debug({ rssBefore, rssAfter: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, floor, trimmed, load: loadNow, peakLoad },
        'memory relief: full GC after the load dropped');
      if (m.rss <= floor * growth) {
        floor = Math.min(floor, m.rss);
        misses = 0;
      } else if (++misses >= MAX_MISSES) {
        if (quiet) floor = m.rss;
        misses = 0;
      }
      peakLoad = loadNow;
    }, SECOND_GC_MS).unref();
  };

  const timer = setInterval(() => {
    const now = load();
    if (now > peakLoad) peakLoad = now;
    const rss = process.memoryUsage.rss();
    if (running || rss <= floor * growth) return;
    const since = performance.now() - last;
    if (since < minGapMs) return;
    const quiet = ctx.drain.activity.quietMs() >= QUIET_MS;
    const dropped = peakLoad >= 8 && now <= peakLoad / 4;
    const retry = misses > 0 && since >= RETRY_MS;
    if (quiet || dropped || retry) relieve(rss, quiet, now);
  }, intervalMs);
  timer.unref();
  return {
    get count() { return count; },
    stop: () => clearInterval(timer),
  };
}
