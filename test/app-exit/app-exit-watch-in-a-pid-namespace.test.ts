import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { killNamespaces, order, runInPidNamespace, UNSHARE_SKIP } from './pidns-support.js';

const RUNNER = fileURLToPath(new URL('./watch-runner.js', import.meta.url));
after(killNamespaces);

test('the watcher, in a real PID namespace, ends only after the app (restarted once) has ended, ignoring probes and ebb sleep',
  { skip: UNSHARE_SKIP }, async () => {
    const { events, stderr } = await runInPidNamespace([process.execPath, RUNNER, '3000', '300', '100'], 1500);
    const seq = order(events);
    assert.deepEqual(seq, ['probes-done', 'app1-start', 'app1-seen', 'app1-end', 'app2-start', 'app2-ending', 'app2-end', 'watcher-exit', 'done'],
      `events: ${JSON.stringify(events)}\nstderr: ${stderr}`);
    for (const e of events) if ('watcherRunning' in e) assert.equal(e.watcherRunning, true, `watcher gone at ${e.ev}`);
    assert.equal(events.find((e) => e.ev === 'watcher-exit')?.code, 0);
    assert.equal(events.find((e) => e.ev === 'done')?.sleepStillRunning, true);
    const seen = events.filter((e) => e.ev === 'watcher' && String(e.line).includes('app-seen'));
    assert.equal(seen.length, 1);
    assert.match(String(seen[0]!.line), /SIGUSR2/, 'the process seen is the app, not a helper');
  });
