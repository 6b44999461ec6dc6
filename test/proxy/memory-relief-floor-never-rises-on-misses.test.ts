import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReliefSchedule, type ReliefTick } from '../../src/proxy/memory-relief.js';

// The memory relief's schedule, driven tick by tick with a made-up clock and RSS (no timers, no GC):
// the level reliefs are measured against only falls, misses make the tries back off instead of
// raising it, and a relief that gets RSS back or a new burst starts afresh.
const MiB = 1 << 20;
const idle = (now: number, rss: number): ReliefTick => ({ now, rss, quiet: true, dropped: false });

/** Runs one relief at `now` that leaves RSS at `after`; asserts it was due. */
function relieve(s: ReliefSchedule, now: number, before: number, after: number): void {
  assert.ok(s.due(idle(now, before)), `a relief is due at ${now} ms with RSS ${before / MiB} MiB`);
  s.started(now);
  s.finished(after);
}

test('misses on an idle proxy leave the floor where it was; the tries back off, then resume', () => {
  const s = new ReliefSchedule(100 * MiB, 1.1, 3000);
  assert.equal(s.due(idle(0, 110 * MiB)), false, 'within 10 % of the floor: nothing to do');

  // A burst: RSS 200 MiB, and four reliefs in a row that leave it at 150 MiB (the memory still held).
  let t = 10_000;
  for (let i = 0; i < 4; i++, t += 3000) relieve(s, t, i === 0 ? 200 * MiB : 150 * MiB, 150 * MiB);
  assert.equal(s.misses, 4);
  assert.equal(s.floor, 100 * MiB, 'a miss does not raise the level reliefs aim at');

  // Given up for now: not every 3 s on an idle proxy, but 30 s after the last try.
  const last = t - 3000;
  assert.equal(s.due(idle(last + 3000, 150 * MiB)), false);
  assert.equal(s.due(idle(last + 29_000, 150 * MiB)), false);
  relieve(s, last + 30_000, 150 * MiB, 150 * MiB);
  // One more miss: the next try twice as late.
  assert.equal(s.due(idle(last + 30_000 + 59_000, 150 * MiB)), false);
  assert.equal(s.floor, 100 * MiB);

  // The memory was freed meanwhile: the next try gets RSS back near the floor and starts afresh.
  relieve(s, last + 30_000 + 60_000, 150 * MiB, 104 * MiB);
  assert.equal(s.misses, 0);
  assert.equal(s.floor, 100 * MiB, 'the floor is the lowest level reached: 104 MiB does not raise it');
  relieve(s, last + 200_000, 120 * MiB, 90 * MiB);
  assert.equal(s.floor, 90 * MiB, 'a relief that leaves less lowers it');
});

test('a new burst after the tries gave up is relieved at once, and under load only a retry is', () => {
  const s = new ReliefSchedule(100 * MiB, 1.1, 3000);
  let t = 0;
  for (let i = 0; i < 4; i++, t += 3000) relieve(s, t, 150 * MiB, 130 * MiB);
  assert.equal(s.due(idle(t, 140 * MiB)), false, 'backing off: RSS did not grow past 10 % over the last relief');
  relieve(s, t, 160 * MiB, 130 * MiB);
  assert.equal(s.misses, 1, 'RSS grew past 10 % over the last relief: a new burst, tried afresh');

  // Neither quiet nor dropped: no relief at a first try, but a retry after a miss, 3 s later.
  const s2 = new ReliefSchedule(100 * MiB, 1.1, 3000);
  assert.equal(s2.due({ now: 0, rss: 200 * MiB, quiet: false, dropped: false }), false);
  assert.ok(s2.due({ now: 0, rss: 200 * MiB, quiet: false, dropped: true }));
  s2.started(0);
  s2.finished(150 * MiB);
  assert.equal(s2.due({ now: 2999, rss: 150 * MiB, quiet: true, dropped: false }), false, 'at most once per minGapMs');
  assert.ok(s2.due({ now: 3000, rss: 150 * MiB, quiet: false, dropped: false }));
});
