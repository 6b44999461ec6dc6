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
 * again 3 s later; after four misses in a row with nothing winding down, less and less often
 * (30 s, doubling up to 5 min), until a relief brings RSS back or a new burst grows it again. At most once per `minGapMs`, never while the load
 * is at its peak: a busy proxy is left to V8's own schedule. A full GC of the proxy's heap (a few
 * MiB) takes milliseconds.
 */
const SECOND_GC_MS = 500;
/** No new connection or request for this long: the burst is over. */
const QUIET_MS = 2000;
/**
 * After a relief that left RSS up, the next try. V8 measures allocation over its last 5 s and
 * shrinks the young generation only once that rate is low, and some memory of the burst's
 * connections is freed seconds after they closed: a few tries 3 s apart catch it.
 */
const RETRY_MS = 3000;
const MAX_MISSES = 4;
/** After MAX_MISSES misses in a row, the next try; doubling with every further miss, up to the cap. */
const BACKOFF_MS = 30_000;
const BACKOFF_MAX_MS = 300_000;

/**
 * The environment the image gives the proxy (the Dockerfile's runtime ENV; a test holds the two
 * together), and what the lab's process runtime, `npm run soak` and `npm run bench` start it with,
 * so that what they measure is what runs in a pod.
 * MALLOC_ARENA_MAX=2: glibc gives every thread that mallocs under contention an arena of its own,
 * up to 8 per core; V8's worker threads (concurrent marking, sweeping, compiling) then each keep
 * one, and after a burst what stays allocated or fragmented in them is not given back by
 * malloc_trim. Two arenas (the main thread's and one the workers share) hold it: the zero-window
 * flood of issue 11 (case 3) left RSS 65.3 MiB 10 s after against a baseline of 57.9 MiB
 * (+12.8 %) with glibc's default and 61.3 MiB against 57.5 (+6.6 %) with 2 (docs/hostile-clients.md).
 * glibc reads it once, when the process starts: it cannot be set from inside.
 * NODE_OPTIONS=--max-semi-space-size=2: V8 grows each of the young generation's semi-spaces up to
 * 16 MiB under load (Node 20 on 64-bit), and keeps them grown while the load lasts; a proxy's garbage
 * is short-lived (a request's objects), so 2 MiB semi-spaces only mean more, cheap, scavenges. Under
 * the bench's h2c load (100 streams at once) the proxy's peak RSS fell from 115-118 MB to 91-92 MB,
 * HTTP/1 from 68-69 to 64 MB, CPU per request within the run-to-run noise (docs/bench.md). V8 sizes
 * its heap when the isolate is made, before any of ebb runs: only a flag at start reaches it.
 */
export const IMAGE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--max-semi-space-size=2' };

export interface MemoryReliefOptions {
  readonly intervalMs?: number;
  readonly minGapMs?: number;
  /** RSS over the floor by this factor (1.1 = 10 %) makes a relief worth it. */
  readonly growth?: number;
}

export interface MemoryRelief {
  /** Reliefs run so far. */
  readonly count: number;
  stop(): void;
}

/** What the timer sees each tick. */
export interface ReliefTick {
  /** performance.now(). */
  readonly now: number;
  readonly rss: number;
  /** No new connection or request for QUIET_MS. */
  readonly quiet: boolean;
  /** The load fell from a peak of 8 or more to a quarter of it. */
  readonly dropped: boolean;
  /** Client connections open and requests in flight. */
  readonly load: number;
}

/**
 * When a relief is due, and what one's outcome changes. No clock and no process in it, so a test
 * drives it tick by tick.
 *
 * The floor is the level reliefs bring RSS back to: RSS at start, then the lowest RSS a relief left.
 * It never rises. It used to become the RSS that MAX_MISSES misses in a row on an idle proxy left
 * behind, so that the proxy would not collect for nothing; but a miss says only that the memory was
 * still held at that moment (measured: a burst's memory came back up to 15 s after its connections
 * closed), and each such run raised the level every later burst was measured against, for good.
 * Instead, after MAX_MISSES misses in a row with nothing winding down (the load no lower than at
 * the relief before) the tries back off (BACKOFF_MS, doubling, up to BACKOFF_MAX_MS); a relief that
 * brings RSS back, or a new burst that grows RSS past `growth` over the last relief's level, starts
 * afresh. Misses while the load is still falling (clients leaving, their memory going with them)
 * do not make the tries back off.
 */
export class ReliefSchedule {
  floor: number;
  /** Reliefs in a row that left RSS more than `growth` over the floor. */
  misses = 0;
  /** Of those, the ones that started with the load no lower than at the relief before. */
  flatMisses = 0;
  /** RSS after the last relief. */
  private lastRss: number;
  /** When the last relief started, the load then, and whether it had fallen since the one before. */
  private lastAt = -Infinity;
  private lastLoad = Infinity;
  private lastFlat = false;

  constructor(startRss: number, readonly growth: number, readonly minGapMs: number) {
    this.floor = startRss;
    this.lastRss = startRss;
  }

  /** Whether to start a relief now (then call started, and finished with the RSS it left). */
  due(t: ReliefTick): boolean {
    if (t.rss <= this.floor * this.growth) return false;
    const since = t.now - this.lastAt;
    if (since < this.minGapMs) return false;
    // A new burst since the last relief: try afresh.
    if (this.misses > 0 && t.rss > this.lastRss * this.growth) this.misses = this.flatMisses = 0;
    if (this.flatMisses >= MAX_MISSES) return (t.quiet || t.dropped) && since >= this.backoffMs();
    return t.quiet || t.dropped || (this.misses > 0 && this.misses < MAX_MISSES && since >= RETRY_MS);
  }

  started(t: ReliefTick): void {
    this.lastAt = t.now;
    this.lastFlat = t.load >= this.lastLoad;
    this.lastLoad = t.load;
  }

  finished(rss: number): void {
    this.lastRss = rss;
    if (rss <= this.floor * this.growth) {
      this.floor = Math.min(this.floor, rss);
      this.misses = this.flatMisses = 0;
    } else {
      this.misses++;
      if (this.lastFlat) this.flatMisses++;
    }
  }

  /** How long after the last relief the next try waits once MAX_MISSES flat misses came in a row. */
  backoffMs(): number {
    return Math.min(BACKOFF_MAX_MS, BACKOFF_MS * 2 ** Math.max(0, this.flatMisses - MAX_MISSES));
  }
}

/**
 * V8's gc(), made reachable without --expose-gc on the command line; null if V8 refuses.
 * The full collection runs `async`: V8 then runs it as a task from the event loop, with an empty
 * stack, as the inspector's HeapProfiler.collectGarbage does. Measured after a zero-window flood
 * (case 3 of `npm run soak -- --attacks`, Node 20): sync full GCs from the relief's timers, every
 * 3 s, left 10-25 MiB of the burst's heap (its streams and sessions, every socket closed already)
 * for up to 15 s, until one of V8's own collections took it; an async one, or the inspector's,
 * freed it at once, at the first relief, in every run. Presumably a sync gc() has V8 treat the
 * caller's native stack as possibly pointing into the heap (V8's gc extension runs it with an
 * "unknown" embedder stack state, the async task with an empty one). Then the `last-resort` flavor, V8's full
 * collection for low memory (what the inspector runs), also compacts and hands the freed heap pages
 * back, where a plain gc() may keep them for the next allocations; Node 20's V8 does not know that
 * option yet (the string is not in its binary) and runs a plain full GC.
 */
function exposeGc(): (() => Promise<void>) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return null;
    const run = gc as (o?: object) => Promise<void> | undefined;
    return async () => {
      // Two scavenges first: each records an allocation sample, so V8 sees that the burst's
      // allocation rate is over and the full GC also shrinks the young generation (measured: the
      // shrink then comes a couple of seconds sooner).
      run({ type: 'minor' });
      run({ type: 'minor' });
      await run({ type: 'major', execution: 'async' });
      run({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    };
  } catch {
    return null;
  }
}

export function startMemoryRelief(ctx: ProxyContext, trim: (() => boolean) | null, o: MemoryReliefOptions = {}): MemoryRelief {
  const intervalMs = o.intervalMs ?? 1000;
  const gc = exposeGc();
  if (!gc) ctx.log.debug('memory relief: V8 gave no gc(); RSS after a burst comes back only when V8 collects by itself');
  const schedule = new ReliefSchedule(process.memoryUsage.rss(), o.growth ?? 1.1, o.minGapMs ?? 3000);
  let peakLoad = 0;
  let count = 0;
  let running = false;
  let stopped = false;
  const load = (): number => ctx.connections.open + ctx.drain.requestsInFlight;

  const relieve = async (tick: ReliefTick, loadNow: number): Promise<void> => {
    running = true;
    schedule.started(tick);
    try {
      await gc?.();
      // Objects the first GC found dead free their native memory in weak callbacks, after it: a
      // second GC a moment later collects what those freed, then the C heap is trimmed.
      await new Promise<void>((resolve) => setTimeout(resolve, SECOND_GC_MS).unref());
      if (stopped) return;
      await gc?.();
      const trimmed = trim?.() ?? false;
      const m = process.memoryUsage();
      count++;
      schedule.finished(m.rss);
      ctx.log.debug({ rssBefore: tick.rss, rssAfter: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers,
        floor: schedule.floor, misses: schedule.misses, flatMisses: schedule.flatMisses, trimmed, load: loadNow, peakLoad }, 'memory relief: full GC after the load dropped');
      peakLoad = loadNow;
    } finally {
      running = false;
    }
  };

  const timer = setInterval(() => {
    const now = load();
    if (now > peakLoad) peakLoad = now;
    if (running) return;
    const rss = process.memoryUsage.rss();
    const tick = { now: performance.now(), rss, quiet: ctx.drain.activity.quietMs() >= QUIET_MS, dropped: peakLoad >= 8 && now <= peakLoad / 4, load: now };
    if (schedule.due(tick)) void relieve(tick, now);
  }, intervalMs);
  timer.unref();
  return {
    get count() { return count; },
    stop: () => { stopped = true; clearInterval(timer); },
  };
}
