/**
 * The lab's clients speak what the app speaks. An HTTP/1-only app (--app-command) gets HTTP/1.1
 * clients by default (probed: it does not answer h2c), so a run with a proper wait loses nothing;
 * --clients names the protocols (grpc: unary calls, answered with grpc-status 0 by the demo app)
 * and/or the count. Loopback addressing keeps these runs small; the protocol choice is the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runEbb } from '../helpers.js';
import { tempDir } from '../webhook/support.js';

// The mesh client model moves every request once the client knows, so the count is about the
// protocol alone, not about how long connections stay on the old pod (--client-model kube-proxy).
const QUICK = ['--no-transparent', '--client-model', 'mesh', '--json', '--scenario', 'native', '--fixed-wait', '2', '--propagation-delay', '1', '--warmup', '0.5', '--rps', '30', '--time-limit', '90'];
interface Res { requests: { total: number; failed: number; byOutcome: Record<string, number> }; config: { clientProtocols: string } }

test('an HTTP/1-only app: clients default to HTTP/1.1, with a note, and nothing is lost', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.cleanup());
  const app = join(tmp.dir, 'h1-app.cjs');
  writeFileSync(app, "require('node:http').createServer((q, s) => { q.resume(); s.end('ok\\n'); }).listen(Number(process.env.PORT), '127.0.0.1');\n");
  const r = await runEbb(['lab', ...QUICK, '--app-command', `${process.execPath} ${app}`]);
  assert.equal(r.code, 0, r.stderr);
  const [res] = JSON.parse(r.stdout) as Res[];
  assert.equal(res!.config.clientProtocols, 'h1');
  assert.ok(res!.requests.total > 0);
  assert.equal(res!.requests.failed, 0, JSON.stringify(res!.requests.byOutcome));
  const text = await runEbb(['lab', ...QUICK.filter((x) => x !== '--json'), '--app-command', `${process.execPath} ${app}`]);
  assert.match(text.stdout, /did not answer HTTP\/2 cleartext \(h2c\) through the proxy, so the clients speak HTTP\/1\.1 only/);
});

test('--clients grpc,h2c,6: the demo app answers gRPC unary calls through the proxy', async () => {
  const r = await runEbb(['lab', ...QUICK, '--clients', 'grpc,h2c,6']);
  assert.equal(r.code, 0, r.stderr);
  const [res] = JSON.parse(r.stdout) as (Res & { config: { clients: number } })[];
  assert.equal(res!.config.clientProtocols, 'h2c,grpc');
  assert.equal(res!.config.clients, 6);
  assert.equal(res!.requests.failed, 0, JSON.stringify(res!.requests.byOutcome));
});

test('--clients with an unknown protocol is a usage error naming it', async () => {
  const r = await runEbb(['lab', '--clients', 'h3,8']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--clients "h3" is neither a protocol \(h1, h2c, grpc\) nor a number of clients/);
});
