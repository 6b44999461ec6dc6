import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EBB_BIN } from '../helpers.js';
import { killNamespaces, order, runInPidNamespace, UNSHARE_SKIP } from './pidns-support.js';

after(killNamespaces);

test('ebb proxy --exit-when-app-exits, in a real PID namespace: drains and exits 0 after the app (restarted once) ends, not before',
  { skip: UNSHARE_SKIP }, async () => {
    const proxy = [process.execPath, EBB_BIN, 'proxy', '--exit-when-app-exits', '--app-exit-settle', '3',
      '--app-port', '1', '--inbound-port', '0', '--admin-port', '0'];
    const { events, stderr } = await runInPidNamespace(proxy, 1500);
    const dump = `events: ${JSON.stringify(events, null, 1)}\nstderr: ${stderr}`;
    assert.deepEqual(order(events), ['probes-done', 'app1-start', 'app1-seen', 'app1-end', 'app2-start', 'app2-ending', 'app2-end', 'watcher-exit', 'done'], dump);
    for (const e of events) if ('watcherRunning' in e) assert.equal(e.watcherRunning, true, `proxy gone at ${e.ev}; ${dump}`);
    assert.equal(events.find((e) => e.ev === 'watcher-exit')?.code, 0, dump);
    assert.equal(events.find((e) => e.ev === 'done')?.sleepStillRunning, true, 'the preStop-like ebb sleep was still running, and ignored');

    const logs = events.filter((e) => e.ev === 'watcher').map((e) => { try { return JSON.parse(String(e.line)) as Record<string, unknown>; } catch { return {}; } });
    const seen = logs.filter((l) => l.msg === 'app seen');
    assert.equal(seen.length, 1, dump);
    assert.ok((seen[0]!.argv as string[]).some((a) => a.includes('SIGUSR2')), 'the process seen is the app, not a helper or probe');
    assert.equal(logs.find((l) => l.msg === 'shutdown started')?.reason, 'app-exited', dump);
    // The shutdown started only after the restarted app had ended.
    const idx = (pred: (e: (typeof events)[number]) => boolean): number => events.findIndex(pred);
    assert.ok(idx((e) => e.ev === 'watcher' && String(e.line).includes('"msg":"app exited"')) > idx((e) => e.ev === 'app2-end'), dump);
    assert.ok(logs.some((l) => l.msg === 'shutdown complete'), dump);
  });
