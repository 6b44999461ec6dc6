import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Namespaces, netnsUnavailableReason } from './netns.js';
import { chainRules, JUMP_RULES, normalizeSave } from '../../src/init/rules.js';
import { resolveInitOptions } from '../../src/init/options.js';

const skip = netnsUnavailableReason();
const ns = new Namespaces();
after(() => ns.cleanup());

const FLAGS = ['--skip-inbound-ports', '22,8000-8010', '--skip-outbound-ports', '3306', '--skip-outbound-cidrs', '10.96.0.0/12,fd00::/8'];

async function saved(pod: string, tool: string): Promise<string[]> {
  const r = await ns.run(pod, tool, ['-t', 'nat']);
  assert.equal(r.code, 0, r.stderr);
  return normalizeSave(r.stdout);
}

test('ebb init applied twice in a fresh network namespace yields the same rule set, IPv4 and IPv6', { skip }, async () => {
  const pod = ns.create('init');
  const first = await ns.ebb(pod, ['init', ...FLAGS, '--ipv6', 'on']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /IPv4 nat rules applied.*added jumps/);
  const after1 = { v4: await saved(pod, 'iptables-save'), v6: await saved(pod, 'ip6tables-save') };

  const second = await ns.ebb(pod, ['init', ...FLAGS, '--ipv6', 'on']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /IPv4 nat rules applied.*jumps already present/);
  const after2 = { v4: await saved(pod, 'iptables-save'), v6: await saved(pod, 'ip6tables-save') };
  assert.deepEqual(after2, after1);

  // And the kernel holds exactly what was generated, jumps once each.
  const opts = resolveInitOptions({ skipInboundPorts: '22,8000-8010', skipOutboundPorts: '3306', skipOutboundCidrs: '10.96.0.0/12,fd00::/8' });
  for (const [fam, lines] of [[4, after2.v4], [6, after2.v6]] as const) {
    assert.deepEqual(lines.filter((l) => /^-A EBB_/.test(l)), chainRules(opts, fam));
    for (const jump of JUMP_RULES) assert.equal(lines.filter((l) => l === jump).length, 1, `${jump} once (IPv${fam})`);
  }
});

test('a changed configuration replaces ebb\'s rules instead of adding to them', { skip }, async () => {
  const pod = ns.create('reinit');
  assert.equal((await ns.ebb(pod, ['init', '--ipv6', 'off', '--skip-inbound-ports', '22'])).code, 0);
  assert.equal((await ns.ebb(pod, ['init', '--ipv6', 'off', '--skip-inbound-ports', '23'])).code, 0);
  const lines = await saved(pod, 'iptables-save');
  assert.ok(lines.includes('-A EBB_INBOUND -p tcp -m tcp --dport 23 -j RETURN'));
  assert.ok(!lines.includes('-A EBB_INBOUND -p tcp -m tcp --dport 22 -j RETURN'));
});

test('ebb init as a user without NET_ADMIN fails with a clear message and changes nothing', { skip }, async () => {
  const pod = ns.create('noperm');
  const r = await ns.ebb(pod, ['init', '--ipv6', 'off'], { uid: 2102 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /denied .*IPv4 nat table \(network namespace net:\[\d+\], uid 2102\)/);
  assert.match(r.stderr, /NET_ADMIN and CAP_NET_RAW/);
  assert.deepEqual((await saved(pod, 'iptables-save')).filter((l) => l.includes('EBB')), []);
});
