import { cidrFamily, type Family, type InitOptions, type PortRange } from './options.js';

/**
 * The nat rules of `ebb init`, as an iptables-restore document.
 *
 * ebb owns two chains and hooks each into a built-in chain with one jump:
 *   PREROUTING → EBB_INBOUND: TCP arriving at the pod goes to the inbound listener, except the
 *     proxy's own ports (inbound, outbound, admin: kubelet probes must reach the admin server) and
 *     --skip-inbound-ports.
 *   OUTPUT → EBB_OUTPUT: TCP the pod opens goes to the outbound listener, except the proxy's own
 *     (owner --proxy-uid: otherwise its upstream connections would loop back into itself), anything
 *     leaving through loopback, --skip-outbound-cidrs and --skip-outbound-ports.
 *
 * Rules are written the way iptables-save prints them, so a saved table can be compared line by line.
 * Declaring a chain (`:EBB_INBOUND - [0:0]`) in a --noflush restore flushes it, which makes a re-run
 * replace ebb's rules rather than add to them; the jumps live in built-in chains that ebb must not
 * flush, so they are added only when missing (see `missingJumps`). The whole document is one
 * transaction: either every rule is in place or none changed.
 */
export const INBOUND_CHAIN = 'EBB_INBOUND';
export const OUTBOUND_CHAIN = 'EBB_OUTPUT';

export const JUMP_RULES: readonly string[] = [
  `-A PREROUTING -p tcp -j ${INBOUND_CHAIN}`,
  `-A OUTPUT -p tcp -j ${OUTBOUND_CHAIN}`,
];

function dport(p: PortRange): string {
  return p.from === p.to ? `${p.from}` : `${p.from}:${p.to}`;
}

/** The rules of ebb's own chains for one IP family, in order. */
export function chainRules(opts: InitOptions, family: Family): string[] {
  const proxyPorts = [opts.inboundPort, opts.outboundPort, opts.adminPort].map((p) => ({ from: p, to: p }));
  const inbound = [
    ...[...proxyPorts, ...opts.skipInboundPorts].map((p) => `-A ${INBOUND_CHAIN} -p tcp -m tcp --dport ${dport(p)} -j RETURN`),
    `-A ${INBOUND_CHAIN} -p tcp -j REDIRECT --to-ports ${opts.inboundPort}`,
  ];
  const outbound = [
    `-A ${OUTBOUND_CHAIN} -m owner --uid-owner ${opts.proxyUid} -j RETURN`,
    `-A ${OUTBOUND_CHAIN} -o lo -j RETURN`,
    ...opts.skipOutboundCidrs.filter((c) => cidrFamily(c) === family).map((c) => `-A ${OUTBOUND_CHAIN} -d ${c} -j RETURN`),
    ...opts.skipOutboundPorts.map((p) => `-A ${OUTBOUND_CHAIN} -p tcp -m tcp --dport ${dport(p)} -j RETURN`),
    `-A ${OUTBOUND_CHAIN} -p tcp -j REDIRECT --to-ports ${opts.outboundPort}`,
  ];
  return [...inbound, ...outbound];
}

/** The iptables-restore document (for `iptables-restore --noflush`); `jumps` are the jump rules to add. */
export function restoreDocument(opts: InitOptions, family: Family, jumps: readonly string[] = JUMP_RULES): string {
  return [
    `# ebb init: nat rules for transparent interception (IPv${family})`,
    '*nat',
    `:${INBOUND_CHAIN} - [0:0]`,
    `:${OUTBOUND_CHAIN} - [0:0]`,
    ...chainRules(opts, family),
    ...jumps,
    'COMMIT',
    '',
  ].join('\n');
}

/** The jump rules not yet present in `iptables-save -t nat` output. */
export function missingJumps(saveOutput: string): string[] {
  const present = new Set(saveOutput.split('\n').map((l) => l.trim()));
  return JUMP_RULES.filter((r) => !present.has(r));
}

/** The rule lines of a saved table, without comments and packet counters: what "same rule set" compares. */
export function normalizeSave(saveOutput: string): string[] {
  return saveOutput.split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^(:\S+ \S+) \[\d+:\d+\]$/, '$1'));
}
