import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AppExitWatcher } from '../../src/proxy/app-exit-watch.js';
import { FakeProc } from './fake-proc.js';

// A fake /proc and a fake clock make every step of the watcher deterministic.
const fakes: FakeProc[] = [];
after(() => { for (const f of fakes) f.cleanup(); });

function setup() {
  const proc = new FakeProc();
  fakes.push(proc);
  proc.add(1, 0, 'pause', ['/pause']);
  proc.add(5, 0, 'node', ['node', 'ebb.js', 'proxy']);
  let clock = 0;
  const events: string[] = [];
  const w = new AppExitWatcher({
    procRoot: proc.root, selfPid: 5, settleMs: 1000, minAgeMs: 300, now: () => clock,
    onAppSeen: (i) => events.push(`seen:${i.pid}`),
    onAppExited: () => events.push('exited'),
  });
  const at = (ms: number): void => { clock = ms; w.tick(); };
  return { proc, w, events, at };
}

test('app seen, then gone for the settle time: exited once, not before', () => {
  const { proc, w, events, at } = setup();
  at(0);
  assert.equal(w.phase, 'waiting-for-app');
  proc.add(30, 0, 'python3', ['python3', 'job.py']);
  at(100);
  at(450);
  assert.deepEqual(events, ['seen:30']);
  proc.remove(30);
  at(500);
  assert.equal(w.phase, 'settling');
  at(1400);
  assert.deepEqual(events, ['seen:30']);
  at(1500);
  assert.deepEqual(events, ['seen:30', 'exited']);
  at(9000);
  assert.deepEqual(events, ['seen:30', 'exited']);
});

test('nothing but the proxy, pause and short-lived execs: never exits', () => {
  const { proc, w, events, at } = setup();
  for (let t = 0; t < 20_000; t += 500) {
    proc.add(100 + t, 0, 'sh', ['sh', '-c', 'cat /tmp/healthy']); // lives for one observation
    at(t);
    proc.remove(100 + t);
    at(t + 250);
  }
  proc.add(60, 0, 'ebb', ['ebb', 'sleep', '30']);
  at(30_000);
  at(40_000);
  assert.deepEqual(events, []);
  assert.equal(w.phase, 'waiting-for-app');
});

test('a container restart inside the settle time does not end the watch', () => {
  const { proc, events, at } = setup();
  proc.add(30, 0, 'python3', ['python3', 'job.py'], { start: 1 });
  at(0);
  at(400);
  proc.remove(30);
  at(500);
  // The restarted container: a new process (here even the same pid, with a new start time).
  proc.add(30, 0, 'python3', ['python3', 'job.py'], { start: 2 });
  at(1200);
  at(5000);
  assert.deepEqual(events, ['seen:30']);
  proc.remove(30);
  at(5100);
  at(6100);
  assert.deepEqual(events, ['seen:30', 'exited']);
});
