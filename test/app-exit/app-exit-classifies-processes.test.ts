import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { classify, readProc, scanProcesses, type ProcInfo } from '../../src/proxy/app-exit-watch.js';
import { FakeProc } from './fake-proc.js';

function p(pid: number, ppid: number, comm: string, argv: string[] = [comm], state = 'S'): ProcInfo {
  return { pid, ppid, comm, state, startTime: pid, argv };
}

test('the app is what remains after self, ancestors, descendants, pause, ebb helpers, zombies', () => {
  const procs = [
    p(1, 0, 'pause', ['/pause']),
    p(7, 0, 'sh', ['sh', '-c', 'exec ebb proxy']), // the proxy container's wrapper
    p(8, 7, 'node', ['node', '/ebb/bin/ebb.js', 'proxy']), // self
    p(9, 8, 'node', ['node', 'child-of-proxy']),
    p(10, 9, 'cat', ['cat']), // grandchild
    p(20, 0, 'ebb', ['ebb', 'sleep', '5']), // the proxy's preStop
    p(21, 0, 'node', ['/usr/bin/node', '/ebb/bin/ebb.js', 'await']), // the postStart hook
    p(30, 0, 'python3', ['python3', 'job.py']), // the app
    p(31, 30, 'curl', ['curl', 'http://x']), // the app's child
    p(32, 0, 'ebb', ['ebb', 'await', '--shutdown', '--', 'python3', 'job.py']), // an app wrapped by await
    p(33, 0, 'defunct', [], 'Z'),
  ];
  const { app, ignored } = classify(procs, 8);
  assert.deepEqual(app.map((x) => x.pid), [30, 31, 32]);
  assert.deepEqual(Object.fromEntries(ignored), {
    8: 'self', 7: 'ancestor', 9: 'descendant', 10: 'descendant', 1: 'pause', 20: 'ebb-helper', 21: 'ebb-helper', 33: 'exited',
  });
});

test('pid 1 counts as the app unless it is the pause process or an ancestor of the proxy', () => {
  assert.deepEqual(classify([p(1, 0, 'python3'), p(5, 0, 'ebb', ['ebb', 'proxy'])], 5).app.map((x) => x.pid), [1]);
  assert.deepEqual(classify([p(1, 0, 'tini'), p(5, 1, 'ebb', ['ebb', 'proxy'])], 5).app.map((x) => x.pid), []);
  // podman's pod infra process in pause mode is the pause process; catatonit as an init is not.
  assert.deepEqual(classify([p(1, 0, 'catatonit', ['/catatonit', '-P']), p(6, 0, 'node', ['/nodejs/bin/node', 'app.js']), p(17, 0, 'node', ['ebb', 'proxy'])], 17).app.map((x) => x.pid), [6]);
  assert.deepEqual(classify([p(1, 0, 'catatonit', ['/catatonit', '--', 'app']), p(17, 0, 'node', ['ebb', 'proxy'])], 17).app.map((x) => x.pid), [1]);
  assert.deepEqual(classify([p(1, 0, 'ebb', ['ebb', 'proxy'])], 1).app.map((x) => x.pid), []);
});

const fake = new FakeProc();
after(() => fake.cleanup());

test('reading /proc/PID/stat copes with spaces and parentheses in the process name', () => {
  fake.add(42, 1, 'my (odd) name', ['a', 'b c']);
  const info = readProc(fake.root, 42);
  assert.deepEqual(info, { pid: 42, ppid: 1, comm: 'my (odd) name', state: 'S', startTime: 420, argv: ['a', 'b c'] });
  assert.equal(readProc(fake.root, 43), undefined);
  assert.deepEqual(scanProcesses(fake.root).map((x) => x.pid), [42]);
});

test('the real /proc can be scanned and contains this process', () => {
  const me = scanProcesses().find((x) => x.pid === process.pid);
  assert.ok(me);
  assert.equal(me.argv[0], process.argv[0]);
});
