import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb, startEbb } from '../helpers.js';
import { startFakeAdmin, waitForOutput, type FakeAdmin } from './support.js';

let f: FakeAdmin;
after(async () => { await f?.close(); });

async function admin(): Promise<FakeAdmin> {
  f ??= await startFakeAdmin();
  return f;
}

test('ebb await exits with the command\'s exit code', async () => {
  const { port } = await admin();
  for (const code of [0, 1, 7, 255]) {
    const r = await runEbb(['await', '--port', String(port), '--', process.execPath, '-e', `process.exit(${code})`]);
    assert.equal(r.code, code, r.stderr);
  }
});

test('ebb await passes the command\'s stdio through', async () => {
  const { port } = await admin();
  const r = await runEbb(['await', '--port', String(port), '--', process.execPath, '-e',
    'process.stdin.on("data", (d) => process.stdout.write("out:" + d)); process.stderr.write("err-line\\n")'], { input: 'hello' });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'out:hello');
  assert.match(r.stderr, /err-line/);
});

test('a command that cannot be found exits 127 with a message', async () => {
  const { port } = await admin();
  const r = await runEbb(['await', '--port', String(port), '--', 'ebb-no-such-command-here']);
  assert.equal(r.code, 127);
  assert.match(r.stderr, /could not start "ebb-no-such-command-here"/);
});

// The child reports which signal reached it and exits 40; ebb await must pass each one on.
const CHILD = `
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'])
  process.on(s, () => { process.stdout.write('got ' + s + '\\n'); process.exit(40); });
process.stdout.write('started\\n');
setInterval(() => {}, 1000);
`;

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const) {
  test(`ebb await forwards ${sig} to the command and exits with its code`, async () => {
    const { port } = await admin();
    const child = startEbb(['await', '--port', String(port), '--', process.execPath, '-e', CHILD]);
    try {
      await waitForOutput(child.stdout!, 'started\n');
      const got = waitForOutput(child.stdout!, `got ${sig}`);
      child.kill(sig);
      const [code] = await Promise.all([new Promise((resolve) => child.on('exit', (c) => resolve(c))), got]);
      assert.equal(code, 40);
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test('ebb await exits 128+N when a forwarded signal kills the command', async () => {
  const { port } = await admin();
  const child = startEbb(['await', '--port', String(port), '--', process.execPath, '-e',
    'process.stdout.write("started\\n"); setInterval(() => {}, 1000);']);
  try {
    await waitForOutput(child.stdout!, 'started\n');
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 143);
  } finally {
    child.kill('SIGKILL');
  }
});
