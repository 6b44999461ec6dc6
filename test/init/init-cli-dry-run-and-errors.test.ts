import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEbb } from '../helpers.js';

test('ebb init --dry-run prints the IPv4 and IPv6 documents and changes nothing', async () => {
  const r = await runEbb(['init', '--dry-run', '--skip-outbound-cidrs', '10.0.0.0/8,fd00::/8', '--proxy-uid', '3000']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /# ebb init: nat rules for transparent interception \(IPv4\)\n\*nat\n/);
  assert.match(r.stdout, /\(IPv6\)/);
  assert.match(r.stdout, /-A EBB_OUTPUT -m owner --uid-owner 3000 -j RETURN/);
  assert.equal(r.stdout.match(/^COMMIT$/gm)?.length, 2);
});

test('ebb init --dry-run --ipv6 off prints only IPv4; env configures it and flags win', async () => {
  const r = await runEbb(['init', '--dry-run', '--ipv6', 'off', '--outbound-port', '5140'], { env: { EBB_OUTBOUND_PORT: '6140', EBB_INBOUND_PORT: '6143' } });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /IPv6/);
  assert.match(r.stdout, /REDIRECT --to-ports 5140/);
  assert.match(r.stdout, /REDIRECT --to-ports 6143/);
});

test('ebb init with invalid values lists them all and exits 64', async () => {
  const r = await runEbb(['init', '--dry-run', '--inbound-port', 'x', '--skip-outbound-cidrs', 'nope']);
  assert.equal(r.code, 64);
  assert.match(r.stderr, /2 problems/);
  assert.match(r.stderr, /inbound port: "x"/);
  assert.match(r.stderr, /"nope" is not an IPv4 or IPv6 CIDR/);
});

test('ebb init without iptables on PATH exits 1 saying what is missing and how to install it', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'ebb-nopath-'));
  try {
    const r = await runEbb(['init'], { env: { PATH: empty } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /iptables-save was not found on PATH/);
    assert.match(r.stderr, /apt-get install iptables/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
