import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveInitOptions, INIT_DEFAULTS } from '../../src/init/options.js';
import { chainRules, restoreDocument, missingJumps, JUMP_RULES } from '../../src/init/rules.js';
import { applyFamily, applyRules, type ToolRunner } from '../../src/init/apply.js';
import { ConfigError, EbbError } from '../../src/errors.js';

test('defaults redirect inbound to 4143 and outbound to 4140, exempting uid 2102, loopback and the proxy ports', () => {
  const rules = chainRules(resolveInitOptions({}), 4);
  assert.deepEqual(rules, [
    '-A EBB_INBOUND -p tcp -m tcp --dport 4143 -j RETURN',
    '-A EBB_INBOUND -p tcp -m tcp --dport 4140 -j RETURN',
    '-A EBB_INBOUND -p tcp -m tcp --dport 4191 -j RETURN',
    '-A EBB_INBOUND -p tcp -j REDIRECT --to-ports 4143',
    '-A EBB_OUTPUT -m owner --uid-owner 2102 -j RETURN',
    '-A EBB_OUTPUT -o lo -j RETURN',
    '-A EBB_OUTPUT -p tcp -j REDIRECT --to-ports 4140',
  ]);
  assert.equal(INIT_DEFAULTS.ipv6, 'auto');
});

test('skip lists become RETURN rules before the redirect; CIDRs go to their own family only', () => {
  const opts = resolveInitOptions({
    inboundPort: '5143', outboundPort: '5140', adminPort: '5191', proxyUid: '1234',
    skipInboundPorts: '22, 8000-8010', skipOutboundPorts: '3306', skipOutboundCidrs: '10.96.0.0/12,fd00::/8,192.0.2.7',
  });
  const v4 = chainRules(opts, 4);
  assert.ok(v4.includes('-A EBB_INBOUND -p tcp -m tcp --dport 22 -j RETURN'));
  assert.ok(v4.includes('-A EBB_INBOUND -p tcp -m tcp --dport 8000:8010 -j RETURN'));
  assert.ok(v4.includes('-A EBB_OUTPUT -p tcp -m tcp --dport 3306 -j RETURN'));
  assert.ok(v4.includes('-A EBB_OUTPUT -d 10.96.0.0/12 -j RETURN'));
  assert.ok(v4.includes('-A EBB_OUTPUT -d 192.0.2.7/32 -j RETURN'));
  assert.ok(!v4.some((r) => r.includes('fd00::/8')));
  assert.equal(v4.at(-1), '-A EBB_OUTPUT -p tcp -j REDIRECT --to-ports 5140');
  assert.ok(v4.includes('-A EBB_OUTPUT -m owner --uid-owner 1234 -j RETURN'));
  const v6 = chainRules(opts, 6);
  assert.ok(v6.includes('-A EBB_OUTPUT -d fd00::/8 -j RETURN'));
  assert.ok(!v6.some((r) => r.includes('10.96.0.0/12')));
  // The redirect is always last: every exemption must come before it.
  for (const rules of [v4, v6]) {
    const inbound = rules.filter((r) => r.startsWith('-A EBB_INBOUND'));
    assert.match(inbound.at(-1)!, /REDIRECT --to-ports 5143$/);
  }
});

test('the document declares both chains (which flushes them on re-run), then the rules, the jumps and COMMIT', () => {
  const doc = restoreDocument(resolveInitOptions({}), 4).split('\n');
  assert.equal(doc[1], '*nat');
  assert.deepEqual(doc.slice(2, 4), [':EBB_INBOUND - [0:0]', ':EBB_OUTPUT - [0:0]']);
  assert.deepEqual(doc.slice(-4, -1), [...JUMP_RULES, 'COMMIT']);
});

test('jumps already in the built-in chains are not added again', () => {
  assert.deepEqual(missingJumps('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n'), JUMP_RULES);
  assert.deepEqual(missingJumps(`*nat\n${JUMP_RULES[0]}\n-A OUTPUT -j OTHER\nCOMMIT\n`), [JUMP_RULES[1]]);
  assert.deepEqual(missingJumps(`*nat\n${JUMP_RULES.join('\n')}\nCOMMIT\n`), []);
});

test('every invalid value is reported at once with exit 64', () => {
  assert.throws(() => resolveInitOptions({
    inboundPort: '70000', proxyUid: '0', skipInboundPorts: '22,x', skipOutboundCidrs: '10.0.0.0/33', ipv6: 'maybe',
  }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.exitCode, 64);
    assert.equal(err.problems.length, 5, err.problems.join('\n'));
    return true;
  });
  assert.throws(() => resolveInitOptions({ outboundPort: '4143' }), /must differ/);
});

/** A fake iptables that keeps one saved table per family, as the kernel would. */
function fakeIptables(opts: { missing?: string[]; saveFails?: Record<string, string> } = {}): { run: ToolRunner; calls: string[] } {
  const tables: Record<string, string[]> = { iptables: [], ip6tables: [] };
  const calls: string[] = [];
  const run: ToolRunner = async (cmd, args, input) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (opts.missing?.includes(cmd)) return undefined;
    const fam = cmd.startsWith('ip6') ? 'ip6tables' : 'iptables';
    if (cmd.endsWith('-save')) {
      if (opts.saveFails?.[cmd]) return { code: 1, stdout: '', stderr: opts.saveFails[cmd]! };
      return { code: 0, stdout: `*nat\n${tables[fam]!.join('\n')}\nCOMMIT\n`, stderr: '' };
    }
    const lines = input!.split('\n').filter((l) => l.startsWith('-A '));
    tables[fam] = [...tables[fam]!.filter((l) => !/^-A EBB_/.test(l)), ...lines];
    return { code: 0, stdout: '', stderr: '' };
  };
  return { run, calls };
}

test('applying twice adds the jumps once', async () => {
  const opts = resolveInitOptions({ ipv6: 'off' });
  const fake = fakeIptables();
  const first = await applyRules(opts, fake.run);
  const second = await applyRules(opts, fake.run);
  assert.deepEqual(first.map((r) => r.addedJumps), [JUMP_RULES]);
  assert.deepEqual(second.map((r) => r.addedJumps), [[]]);
  assert.deepEqual(fake.calls, ['iptables-save -t nat', 'iptables-restore --noflush', 'iptables-save -t nat', 'iptables-restore --noflush']);
});

test('IPv6 in auto mode is skipped when ip6tables is missing or has no nat table; with on it is an error', async () => {
  const missing = await applyRules(resolveInitOptions({}), fakeIptables({ missing: ['ip6tables-save'] }).run);
  assert.deepEqual(missing.map((r) => r.outcome), ['applied', 'skipped']);
  const noNat = await applyRules(resolveInitOptions({}), fakeIptables({ saveFails: { 'ip6tables-save': "ip6tables-save: can't initialize ip6tables table `nat': Table does not exist" } }).run);
  assert.deepEqual(noNat.map((r) => r.outcome), ['applied', 'skipped']);
  await assert.rejects(applyRules(resolveInitOptions({ ipv6: 'on' }), fakeIptables({ missing: ['ip6tables-save'] }).run),
    (err: unknown) => err instanceof EbbError && err.code === 'iptables_missing' && /ip6tables-save was not found/.test(err.message));
});

test('missing iptables and missing permission say what failed, where, and what to do', async () => {
  await assert.rejects(applyFamily(resolveInitOptions({}), 4, fakeIptables({ missing: ['iptables-save'] }).run), (err: unknown) => {
    assert.ok(err instanceof EbbError);
    assert.equal(err.code, 'iptables_missing');
    assert.match(err.message, /iptables-save was not found on PATH/);
    assert.match(err.message, /network namespace .*uid/);
    assert.match(err.message, /apt-get install iptables/);
    return true;
  });
  const denied = fakeIptables({ saveFails: { 'iptables-save': 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)' } });
  await assert.rejects(applyFamily(resolveInitOptions({}), 4, denied.run), (err: unknown) => {
    assert.ok(err instanceof EbbError);
    assert.equal(err.code, 'iptables_permission');
    assert.match(err.message, /NET_ADMIN/);
    assert.match(err.message, /Permission denied/);
    return true;
  });
});
