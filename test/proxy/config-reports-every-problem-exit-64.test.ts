import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEbb } from '../helpers.js';

test('bad config exits 64 listing every problem, before binding anything', async () => {
  const r = await runEbb(['proxy', '--app-port', 'eighty', '--drain-timeout', '-1', '--log-format', 'xml',
    '--inbound', '4143:nope', '--opaque-ports', '10-5'], { env: { EBB_ADMIN_PORT: '99999', EBB_WAIT_BEFORE_EXIT: 'soon' } });
  assert.equal(r.code, 64, r.stderr);
  for (const what of ['--app-port', '--drain-timeout', '--log-format', '--inbound', '--opaque-ports', 'EBB_ADMIN_PORT', 'EBB_WAIT_BEFORE_EXIT']) {
    assert.match(r.stderr, new RegExp(`- ${what}`), `problem with ${what} not reported:\n${r.stderr}`);
  }
  assert.match(r.stderr, /7 problems/);
  assert.doesNotMatch(r.stderr, /"msg":"listening"/);
});

test('no app port at all is a config error (exit 64)', async () => {
  const r = await runEbb(['proxy', '--admin-port', '0'], { env: { EBB_APP_PORT: '', EBB_INBOUND: '' } });
  assert.equal(r.code, 64, r.stderr);
  assert.match(r.stderr, /--app-port/);
});

test('flags win over env: a good flag hides a bad env value', async () => {
  // The env value would be invalid; the flag overrides it, so the only problem left is the port 0 app.
  const r = await runEbb(['proxy', '--app-port', '0', '--drain-timeout', '5'], { env: { EBB_DRAIN_TIMEOUT: 'never' } });
  assert.equal(r.code, 64, r.stderr);
  assert.doesNotMatch(r.stderr, /EBB_DRAIN_TIMEOUT/);
  assert.match(r.stderr, /1 problem\b/);
});
