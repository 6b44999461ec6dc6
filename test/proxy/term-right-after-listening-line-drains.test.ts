import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { startEbb } from '../helpers.js';

// A TERM sent the moment the listening line appears (a test, or a pod deleted right after it
// started) must start the graceful shutdown. It often did not: the start-up handler was swapped
// for the running one, and a signal arriving around the swap was either dropped with the old
// handler (the proxy never shut down) or met no handler at all (the default action killed it).
test('TERM sent as the listening line is read starts a graceful shutdown, every time', async () => {
  const children: ChildProcess[] = [];
  after(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  for (let i = 0; i < 5; i++) {
    const child = startEbb(['proxy', '--inbound-port', '0', '--admin-port', '0', '--app-port', '1']);
    children.push(child);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const before = stderr;
      stderr += d;
      // Synchronously, in the same callback that reads the line: the earliest a reader can send it.
      if (!before.includes('"msg":"listening"') && stderr.includes('"msg":"listening"')) child.kill('SIGTERM');
    });
    child.stdout!.resume();
    // Bounded: a lost TERM leaves the proxy running for good.
    const guard = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 60_000).unref());
    const outcome = await Promise.race([exited, guard]);
    assert.notEqual(outcome, 'still running', `attempt ${i + 1}: the TERM was lost; stderr:\n${stderr}`);
    assert.equal(outcome, 0);
    assert.match(stderr, /"reason":"SIGTERM".*"msg":"shutdown started"/);
  }
});
