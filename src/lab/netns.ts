/**
 * Network namespaces for `ebb lab --transparent`: each lab pod gets its own namespace, as a real
 * pod does, joined to this (the "node's") namespace by a veth pair. The lab's clients and its
 * "remote" server for the app's outbound calls stay in this process and reach the pod over the veth
 * pair, so everything between them crosses `ebb init`'s iptables rules exactly as in a cluster.
 *
 * Addresses come from 198.19.0.0/16 (RFC 2544's benchmarking block, never routed): a /30 per pod,
 * .1 on the node side, .2 in the pod. The node side of each pair exists only while the lab runs:
 * deleting the namespace deletes both ends. Every namespace is deleted when the pod is done, when
 * the process exits, and on SIGINT/SIGTERM, so an interrupted lab leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { EbbError } from '../errors.js';
import { atLabExit } from './at-exit.js';
import { ADDON_PATH } from '../native/original-dst.js';

const TOOLS = ['ip', 'iptables-restore', 'iptables-save', 'nsenter'] as const;

/** Why this machine cannot run pods in network namespaces, or undefined when it can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const tool of TOOLS) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
    if (r.status !== 0) return `the "${tool}" binary is missing (Debian: apt-get install iproute2 iptables util-linux)`;
  }
  const probe = `ebbprobe-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (add.status !== 0) return `this machine cannot create network namespaces: ip netns add failed: ${add.stderr.trim()}`;
  return undefined;
}

/** Why `ebb lab --transparent` cannot run here (namespaces, or the proxy's addon), or undefined. */
export function transparentUnavailableReason(): string | undefined {
  const ns = netnsUnavailableReason();
  if (ns) return ns;
  if (!existsSync(ADDON_PATH)) return `ebb's native addon (SO_ORIGINAL_DST) was not built: ${ADDON_PATH} is missing; install a C compiler, make, python3 and the Node headers and run \`npm rebuild\``;
  return undefined;
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new EbbError('lab_netns', `${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.error?.message || '').trim()}`);
}

const live = new Set<PodNetwork>();
const destroyAll = (): void => { for (const n of live) n.destroy(); };

/** /30 networks already on an interface of this namespace, so a new one never overlaps them. */
function usedSubnets(): Set<string> {
  const r = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  const used = new Set<string>();
  for (const m of (r.stdout ?? '').matchAll(/inet (198\.19\.\d+\.)(\d+)\//g)) used.add(`${m[1]}${Math.floor(Number(m[2]) / 4) * 4}`);
  return used;
}

/** One pod's network namespace, joined to this namespace by a veth pair. */
export class PodNetwork {
  readonly name: string;
  /** The pod's address (its eth0), what clients and the kubelet's httpGet hooks connect to. */
  readonly podAddress: string;
  /** This namespace's side of the pair: where the pod reaches the lab (its "remote" server). */
  readonly nodeAddress: string;
  private readonly hostIf: string;
  private destroyed = false;

  private constructor(name: string, hostIf: string, podAddress: string, nodeAddress: string) {
    this.name = name;
    this.hostIf = hostIf;
    this.podAddress = podAddress;
    this.nodeAddress = nodeAddress;
  }

  /** Creates the namespace `ebblab-<pod>-<id>`, its loopback and eth0, and the node side of the pair. */
  static create(pod: string): PodNetwork {
    atLabExit(destroyAll);
    const id = randomBytes(3).toString('hex');
    const used = usedSubnets();
    let base: string | undefined;
    for (let i = 0; i < 64 && base === undefined; i++) {
      const b = randomBytes(2);
      const candidate = `198.19.${b[0]!}.${(b[1]! & 0xfc)}`;
      if (!used.has(candidate)) base = candidate;
    }
    if (base === undefined) throw new EbbError('lab_netns', 'no free /30 in 198.19.0.0/16 for a lab pod');
    const prefix = base.split('.').slice(0, 3).join('.');
    const last = Number(base.split('.')[3]);
    const net = new PodNetwork(`ebblab-${pod}-${process.pid}-${id}`, `ebl${id}${pod.slice(0, 1)}`, `${prefix}.${last + 2}`, `${prefix}.${last + 1}`);
    live.add(net);
    try {
      run('ip', ['netns', 'add', net.name]);
      run('ip', ['-n', net.name, 'link', 'set', 'lo', 'up']);
      run('ip', ['link', 'add', 'name', net.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', net.name]);
      run('ip', ['addr', 'add', `${net.nodeAddress}/30`, 'dev', net.hostIf]);
      run('ip', ['link', 'set', net.hostIf, 'up']);
      run('ip', ['-n', net.name, 'addr', 'add', `${net.podAddress}/30`, 'dev', 'eth0']);
      run('ip', ['-n', net.name, 'link', 'set', 'eth0', 'up']);
    } catch (err) {
      net.destroy();
      throw err;
    }
    return net;
  }

  /** argv running `cmd args` inside the namespace, optionally as uid/gid (nsenter execs it: the pid is the command's). */
  argv(cmd: string, args: string[], uid?: number): [string, string[]] {
    const user = uid === undefined ? [] : [`--setuid=${uid}`, `--setgid=${uid}`];
    return ['nsenter', [`--net=/run/netns/${this.name}`, ...user, '--', cmd, ...args]];
  }

  /** Deletes the namespace (and with it both ends of the veth pair). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    spawnSync('ip', ['netns', 'del', this.name]);
    // The node side normally goes with its peer; make sure of it if the namespace never came up.
    spawnSync('ip', ['link', 'del', this.hostIf], { stdio: 'ignore' });
  }
}
