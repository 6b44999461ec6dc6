import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReliefSchedule, type ReliefTick } from '../../src/proxy/memory-relief.js';

// The memory relief's schedule, driven tick by tick with a made-up clock, RSS and load (no timers,
// no GC): the level reliefs are measured against only falls; misses with nothing winding down make
// the tries back off instead of raising it; a relief that gets RSS back, or a new burst, starts afresh.
const MiB = 1 << 20;
const idle = (now: number, rss: number): ReliefTick => ({ now, rss, quiet: true, dropped: false, load: 0 });

/** Runs one relief at `tick` that leaves RSS at `after`; asserts it was due. */
function relieve(s: ReliefSchedule, tick: ReliefTick, after: number): void {
  assert.ok(s.due(tick), `a relief is due at ${tick.now} ms with RSS ${tick.rss / MiB} MiB`);
  s.started(tick);
  s.finished(after);
}

test('misses on an idle proxy leave the floor where it was; the tries back off, then resume', () => {
  const s = new ReliefSchedule(100 * MiB, 1.1, 3000);
  assert.equal(s.due(idle(0, 110 * MiB)), false, 'within 10 % of the floor: nothing to do');

  // A burst: RSS 200 MiB, the clients gone (load 50, then 0), and reliefs every 3 s that leave RSS
  // at 150 MiB (the memory still held). The first two came as the load fell: four more are tried.
  let t = 10_000;
  relieve(s, { ...idle(t, 200 * MiB), load: 50 }, 150 * MiB);
  for (let i = 0; i < 5; i++) relieve(s, idle(t += 3000, 150 * MiB), 150 * MiB);
  assert.equal(s.misses, 6);
  assert.equal(s.flatMisses, 4);
  assert.equal(s.floor, 100 * MiB, 'a miss does not raise the level reliefs aim at');

  // Backing off: not every 3 s on an idle proxy, but 30 s after the last try.
  assert.equal(s.due(idle(t + 3000, 150 * MiB)), false);
  assert.equal(s.due(idle(t + 29_999, 150 * MiB)), false);
  relieve(s, idle(t += 30_000, 150 * MiB), 150 * MiB);
  // One more miss: the next try twice as late.
  assert.equal(s.due(idle(t + 59_999, 150 * MiB)), false);
  assert.equal(s.floor, 100 * MiB);

  // The memory was freed meanwhile: the next try gets RSS back near the floor and starts afresh.
  relieve(s, idle(t += 60_000, 150 * MiB), 104 * MiB);
  assert.equal(s.misses, 0);
  assert.equal(s.flatMisses, 0);
  assert.equal(s.floor, 100 * MiB, 'the floor is the lowest level reached: 104 MiB does not raise it');
  relieve(s, idle(t + 100_000, 120 * MiB), 90 * MiB);
  assert.equal(s.floor, 90 * MiB, 'a relief that leaves less lowers it');
});

test('misses while the load is still falling do not make the tries back off', () => {
  const s = new ReliefSchedule(100 * MiB, 1.1, 3000);
  // Reliefs as 1500 pipelined requests drain (quiet: no new request for 2 s), each leaving RSS up.
  let t = 0;
  for (const load of [1500, 1000, 500, 4, 0]) relieve(s, { now: t += 3000, rss: 150 * MiB, quiet: true, dropped: true, load }, 150 * MiB);
  assert.equal(s.misses, 5);
  assert.equal(s.flatMisses, 0);
  // Idle now: tried every 3 s, four more times, before backing off.
  for (let i = 0; i < 4; i++) relieve(s, idle(t += 3000, 150 * MiB), 150 * MiB);
  assert.equal(s.flatMisses, 4);
  assert.equal(s.due(idle(t + 3000, 150 * MiB)), false);
  assert.equal(s.floor, 100 * MiB);
});

test('a new burst after the tries backed off is relieved at once; under load only a retry is', () => {
  const s = new ReliefSchedule(100 * MiB, 1.1, 3000);
  let t = 0;
  for (let i = 0; i < 5; i++) relieve(s, idle(t += 3000, i === 0 ? 150 * MiB : 130 * MiB), 130 * MiB);
  assert.equal(s.flatMisses, 4);
  assert.equal(s.due(idle(t + 3000, 140 * MiB)), false, 'backing off: RSS did not grow past 10 % over the last relief');
  relieve(s, idle(t + 3000, 160 * MiB), 130 * MiB);
  assert.equal(s.misses, 1, 'RSS grew past 10 % over the last relief: a new burst, tried afresh');

  // Neither quiet nor dropped: no relief at a first try, but a retry after a miss, 3 s later.
  const s2 = new ReliefSchedule(100 * MiB, 1.1, 3000);
  const busy = { now: 0, rss: 200 * MiB, quiet: false, dropped: false, load: 20 };
  assert.equal(s2.due(busy), false);
  relieve(s2, { ...busy, dropped: true }, 150 * MiB);
  assert.equal(s2.due({ ...busy, now: 2999, rss: 150 * MiB, quiet: true }), false, 'at most once per minGapMs');
  assert.ok(s2.due({ ...busy, now: 3000, rss: 150 * MiB }));
});
