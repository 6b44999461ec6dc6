import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/lab/clock.js';
import { Pleg, DEFAULT_PLEG_PERIOD_SECONDS } from '../../src/lab/pleg.js';

test('the kubelet learns of an exit at the first relist after it (generic PLEG: every 1 s)', async () => {
  assert.equal(DEFAULT_PLEG_PERIOD_SECONDS, 1);
  const clock = new FakeClock();
  await clock.advance(500);
  const pleg = new Pleg(1000, clock); // relists at 1500, 2500, 3500, … on this clock
  let exit!: () => void;
  const exited = new Promise<void>((r) => { exit = r; });
  const seen = pleg.seen(exited);
  let result: { exitAt: number; seenAt: number } | undefined;
  void seen.then((s) => { result = s; });
  await clock.advance(1800); // t = 2300
  exit();
  await clock.advance(100); // t = 2400: the exit happened, the kubelet does not know yet
  assert.equal(result, undefined);
  await clock.advance(100); // t = 2500: the relist
  assert.deepEqual(result, { exitAt: 2300, seenAt: 2500 });
  // An exit exactly at a relist is seen at the next one; the delay is never more than a period.
  assert.equal(pleg.relistAfter(2500), 3500);
  assert.equal(pleg.relistAfter(2500.001), 3500);
});

test('a PLEG period of 0 is a kubelet that sees every exit at once', async () => {
  const clock = new FakeClock();
  const pleg = new Pleg(0, clock);
  await clock.advance(1234);
  assert.equal(pleg.relistAfter(clock.now()), 1234);
  let result: { exitAt: number; seenAt: number } | undefined;
  void pleg.seen(Promise.resolve()).then((s) => { result = s; });
  await clock.advance(0);
  assert.deepEqual(result, { exitAt: 1234, seenAt: 1234 });
});
