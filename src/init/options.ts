import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.js';

/** A TCP port or an inclusive range of ports, as iptables writes it (`22`, `8000:8010`). */
export interface PortRange { from: number; to: number }

export type Ipv6Mode = 'auto' | 'on' | 'off';

/** Everything `ebb init` needs; the port defaults are the proxy's (CONTRACTS.md), so both agree. */
export interface InitOptions {
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly adminPort: number;
  readonly proxyUid: number;
  readonly skipInboundPorts: readonly PortRange[];
  readonly skipOutboundPorts: readonly PortRange[];
  readonly skipOutboundCidrs: readonly string[];
  readonly ipv6: Ipv6Mode;
}

export const INIT_DEFAULTS: InitOptions = Object.freeze({
  inboundPort: 4143,
  outboundPort: 4140,
  adminPort: 4191,
  proxyUid: 2102,
  skipInboundPorts: [],
  skipOutboundPorts: [],
  skipOutboundCidrs: [],
  ipv6: 'auto',
});

/** Raw values as they come from flags or env (flags win; the CLI merges them before calling). */
export interface RawInitOptions {
  inboundPort?: string;
  outboundPort?: string;
  adminPort?: string;
  proxyUid?: string;
  skipInboundPorts?: string;
  skipOutboundPorts?: string;
  skipOutboundCidrs?: string;
  ipv6?: string;
}

/** The env variable behind each option: the same names the proxy reads, so one env serves both. */
export const INIT_ENV: Record<keyof RawInitOptions, string> = {
  inboundPort: 'EBB_INBOUND_PORT',
  outboundPort: 'EBB_OUTBOUND_PORT',
  adminPort: 'EBB_ADMIN_PORT',
  proxyUid: 'EBB_PROXY_UID',
  skipInboundPorts: 'EBB_SKIP_INBOUND_PORTS',
  skipOutboundPorts: 'EBB_SKIP_OUTBOUND_PORTS',
  skipOutboundCidrs: 'EBB_SKIP_OUTBOUND_CIDRS',
  ipv6: 'EBB_INIT_IPV6',
};

function parsePort(raw: string, what: string, problems: string[], allowZero = false): number | undefined {
  const s = raw.trim();
  const n = Number(s);
  if (!/^\d+$/.test(s) || n > 65535 || (!allowZero && n === 0)) {
    problems.push(`${what}: "${raw}" is not a TCP port (1-65535)`);
    return undefined;
  }
  return n;
}

/** "22,8000-8010" → [{22,22},{8000,8010}]; empty string → []. */
export function parsePortList(raw: string, what: string, problems: string[]): PortRange[] {
  const out: PortRange[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d+)(?:[-:](\d+))?$/.exec(item);
    if (!m) { problems.push(`${what}: "${item}" is not a port or a range like 8000-8010`); continue; }
    const from = parsePort(m[1]!, what, problems);
    const to = m[2] === undefined ? from : parsePort(m[2], what, problems);
    if (from === undefined || to === undefined) continue;
    if (to < from) { problems.push(`${what}: range "${item}" ends before it starts`); continue; }
    out.push({ from, to });
  }
  return out;
}

export type Family = 4 | 6;

/** Which IP family a CIDR belongs to, or undefined when it is not a CIDR. */
export function cidrFamily(cidr: string): Family | undefined {
  const m = /^([^/]+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const prefix = Number(m[2]);
  if (isIPv4(m[1]!) && prefix <= 32) return 4;
  if (isIPv6(m[1]!) && prefix <= 128) return 6;
  return undefined;
}

export function parseCidrList(raw: string, what: string, problems: string[]): string[] {
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    // A bare address means that one host.
    const cidr = item.includes('/') ? item : `${item}/${isIPv6(item) ? 128 : 32}`;
    if (cidrFamily(cidr) === undefined) { problems.push(`${what}: "${item}" is not an IPv4 or IPv6 CIDR like 10.0.0.0/8`); continue; }
    out.push(cidr);
  }
  return out;
}

/** Validates every value, reports all problems at once (ConfigError, exit 64), returns frozen options. */
export function resolveInitOptions(raw: RawInitOptions): InitOptions {
  const problems: string[] = [];
  const port = (v: string | undefined, name: string, dflt: number): number =>
    v === undefined ? dflt : parsePort(v, name, problems) ?? dflt;
  const inboundPort = port(raw.inboundPort, 'inbound port', INIT_DEFAULTS.inboundPort);
  const outboundPort = port(raw.outboundPort, 'outbound port', INIT_DEFAULTS.outboundPort);
  const adminPort = port(raw.adminPort, 'admin port', INIT_DEFAULTS.adminPort);
  let proxyUid = INIT_DEFAULTS.proxyUid;
  if (raw.proxyUid !== undefined) {
    const s = raw.proxyUid.trim();
    if (!/^\d+$/.test(s) || Number(s) > 0xfffffffe) problems.push(`proxy uid: "${raw.proxyUid}" is not a numeric user id`);
    else if (Number(s) === 0) problems.push('proxy uid: 0 (root) cannot be the proxy uid: every root process (the app too, if it runs as root) would bypass the outbound redirect');
    else proxyUid = Number(s);
  }
  if (new Set([inboundPort, outboundPort, adminPort]).size !== 3) {
    problems.push(`inbound (${inboundPort}), outbound (${outboundPort}) and admin (${adminPort}) ports must differ`);
  }
  const skipInboundPorts = parsePortList(raw.skipInboundPorts ?? '', 'skip inbound ports', problems);
  const skipOutboundPorts = parsePortList(raw.skipOutboundPorts ?? '', 'skip outbound ports', problems);
  const skipOutboundCidrs = parseCidrList(raw.skipOutboundCidrs ?? '', 'skip outbound CIDRs', problems);
  const ipv6 = (raw.ipv6 ?? INIT_DEFAULTS.ipv6).trim().toLowerCase();
  const ipv6Mode: Ipv6Mode = ipv6 === 'true' ? 'on' : ipv6 === 'false' ? 'off' : (ipv6 as Ipv6Mode);
  if (!['auto', 'on', 'off'].includes(ipv6Mode)) problems.push(`ipv6: "${raw.ipv6}" must be auto, on or off`);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    inboundPort, outboundPort, adminPort, proxyUid,
    skipInboundPorts: Object.freeze(skipInboundPorts),
    skipOutboundPorts: Object.freeze(skipOutboundPorts),
    skipOutboundCidrs: Object.freeze(skipOutboundCidrs),
    ipv6: ipv6Mode,
  });
}
