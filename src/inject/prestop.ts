/**
 * Recognises a container's preStop as a sleep of N seconds in every shape people write it:
 * the `sleep` lifecycle action, exec ["sleep","20"], ["/bin/sleep","20"], ["ebb","sleep","20"],
 * ["/bin/sh","-c","sleep 20"], ["/bin/bash","-c","sleep 20 && nginx -s quit"], busybox sleep.
 * Also ebb's own `--app-wait auto` hook, an httpGet to the proxy's GET /wait-quiet?max=S on its
 * admin port, which waits at most S seconds (`wait-quiet`), and the proxy's own preStop, an httpGet
 * to its GET /prestop?seconds=W, a wait of W seconds (`sleep`). Anything else is `other` (its timing
 * cannot be checked). `ebb check` and the lab's kubelet both read exec sleeps through this file,
 * so the timing they report for a manifest cannot disagree.
 */
import { isObject, type JsonObject } from './workloads.js';
import type { PreStop } from './types.js';
import { parsePreStopSeconds } from '../admin/prestop.js';

const SHELLS = /^(\/usr)?(\/bin\/)?(sh|bash|ash|dash|zsh|busybox sh)$/;
const SLEEPS = /^(\/usr)?(\/bin\/)?sleep$/;
/** Binaries that run `sleep` as a subcommand: busybox, and ebb itself (the distroless image). */
const MULTICALL = /^(\S*\/)?(busybox|ebb)$/;

/** GNU/busybox sleep durations: 20, 20s, 1.5, 2m, 1h. */
export function parseSleepDuration(raw: string): number | null {
  const m = /^([0-9]+(\.[0-9]+)?)([smhd]?)$/.exec(raw.trim());
  if (!m) return null;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[3] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Seconds slept by a shell script made of commands joined by ;, &&, || or newlines; null if none. */
function shellSleepSeconds(script: string): number | null {
  let total = 0;
  let found = false;
  for (const part of script.split(/&&|\|\||;|\n/)) {
    const words = part.trim().split(/\s+/);
    if (words[0] === 'exec') words.shift();
    if (MULTICALL.test(words[0] ?? '') && words[1] === 'sleep') words.shift();
    if (words.length === 2 && SLEEPS.test(words[0] ?? '')) {
      const s = parseSleepDuration(words[1] ?? '');
      if (s === null) return null;
      total += s;
      found = true;
    }
  }
  return found ? total : null;
}

function execSleep(command: readonly unknown[]): { seconds: number; shape: string } | null {
  const argv = command.map((a) => String(a));
  const [first = '', ...rest] = argv;
  if (SLEEPS.test(first) && rest.length === 1) {
    const s = parseSleepDuration(rest[0] ?? '');
    return s === null ? null : { seconds: s, shape: `exec ${first} ${rest[0]}` };
  }
  if (MULTICALL.test(first) && rest[0] === 'sleep' && rest.length === 2) {
    const s = parseSleepDuration(rest[1] ?? '');
    return s === null ? null : { seconds: s, shape: `exec ${first.slice(first.lastIndexOf('/') + 1)} sleep ${rest[1]}` };
  }
  // `sh -c SCRIPT`, also with options before -c (`sh -e -c …`) or $0 after the script.
  const c = rest.indexOf('-c');
  if (SHELLS.test(first) && c >= 0 && c + 1 < rest.length) {
    const s = shellSleepSeconds(rest[c + 1] ?? '');
    return s === null ? null : { seconds: s, shape: `exec ${first} -c "${rest[c + 1]}"` };
  }
  return null;
}

/** The seconds an exec preStop command sleeps, or undefined when it is not a recognisable sleep. */
export function execSleepSeconds(command: readonly unknown[]): number | undefined {
  return execSleep(command)?.seconds;
}

/** What an app container's hook needs to know of the pod's ebb proxy to recognise /wait-quiet. */
export interface ProxyHookTarget {
  /** The proxy's admin port (where /wait-quiet is served). */
  readonly adminPort: number;
  /** How long /wait-quiet waits without max=: the proxy's auto MAX, else its default 25 s. */
  readonly defaultMaxSeconds: number;
}

/** /wait-quiet's own bounds on its query values (src/admin/wait-quiet.ts): beyond them it answers 400 at once. */
const WAIT_QUIET_LIMIT_SECONDS = 3600;

/**
 * An httpGet hook to the proxy's /wait-quiet: at most `max` seconds (else the proxy's default).
 * The kubelet sends the request from the node to the pod IP, so only a hook without `host` reaches
 * the proxy; a named port is looked up in the hook's own container (as the kubelet does), so
 * `port: ebb-admin` on an app container does not reach the proxy's port of that name.
 */
function waitQuiet(container: JsonObject, get: JsonObject, proxy: ProxyHookTarget): { kind: 'wait-quiet'; seconds: number; shape: string } | { kind: 'other'; shape: string } | null {
  const url = podHookUrl(get, '/wait-quiet');
  if (!url) return null;
  const shape = `httpGet /wait-quiet${url.search}`;
  const port = hookPort(container, get.port);
  if (port === null && get.port === 'ebb-admin') {
    return { kind: 'other', shape: `${shape} on port "ebb-admin", not a port of this container: the kubelet fails the hook at once` };
  }
  if (port !== proxy.adminPort) return null;
  // The values /wait-quiet accepts; anything else gets a 400 at once (and the app its TERM at once).
  const seconds = (name: string, positive: boolean): number | null | undefined => {
    const raw = url.searchParams.get(name);
    if (raw === null) return undefined;
    const n = Number(raw);
    return raw.trim() === '' || !Number.isFinite(n) || n < 0 || (positive && n === 0) || n > WAIT_QUIET_LIMIT_SECONDS ? null : n;
  };
  const max = seconds('max', false);
  if (max === null || seconds('quiet', true) === null || seconds('min', false) === null) return null;
  return { kind: 'wait-quiet', seconds: max ?? proxy.defaultMaxSeconds, shape };
}

/** The numeric port an httpGet names, a named one looked up in the hook's own container (as the kubelet does). */
function hookPort(container: JsonObject, port: unknown): number | null {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^[0-9]+$/.test(port)) return Number(port);
  if (typeof port !== 'string') return null;
  const own = Array.isArray(container.ports) ? container.ports.find((p) => isObject(p) && p.name === port) : undefined;
  return isObject(own) && typeof own.containerPort === 'number' ? own.containerPort : null;
}

/**
 * An httpGet hook's URL when it goes to `pathname` on the pod itself over plain HTTP (no `host`,
 * scheme HTTP), the only way it can reach the pod's ebb proxy; null otherwise.
 */
function podHookUrl(get: JsonObject, pathname: string): URL | null {
  const rawPath = typeof get.path === 'string' ? get.path : '/';
  let url: URL;
  try { url = new URL(rawPath.startsWith('/') ? rawPath : `/${rawPath}`, 'http://pod'); } catch { return null; }
  if (url.pathname !== pathname) return null;
  if ((get.host !== undefined && get.host !== '') || (get.scheme !== undefined && get.scheme !== 'HTTP')) return null;
  return url;
}

/** An ebb proxy container's admin port: its EBB_ADMIN_PORT, else its port named ebb-admin; null with neither. */
export function proxyAdminPort(container: JsonObject): number | null {
  const env = Array.isArray(container.env) ? container.env.find((e) => isObject(e) && e.name === 'EBB_ADMIN_PORT') : undefined;
  if (isObject(env) && typeof env.value === 'string' && /^[0-9]+$/.test(env.value.trim())) return Number(env.value);
  return hookPort(container, 'ebb-admin');
}

/**
 * An httpGet hook to an ebb proxy's GET /prestop?seconds=W (the proxy's own preStop, which `ebb
 * inject` writes): a wait of W seconds, with the pod marked terminating from its start. Only a
 * hook without `host` on the proxy's admin port reaches it (its own, or the pod's proxy's); a
 * `seconds` the endpoint refuses makes the hook fail at once (the kubelet then sends TERM at once).
 */
function preStopHook(container: JsonObject, get: JsonObject, proxy?: ProxyHookTarget): PreStop | null {
  const url = podHookUrl(get, '/prestop');
  if (!url) return null;
  const port = hookPort(container, get.port);
  if (port === null || (port !== proxyAdminPort(container) && port !== proxy?.adminPort)) return null;
  const shape = `httpGet /prestop${url.search}`;
  const seconds = parsePreStopSeconds(url.searchParams.get('seconds'));
  if (!seconds.ok) return { kind: 'other', shape: `${shape}: ${seconds.problem}; the proxy answers 400 at once and the kubelet sends TERM at once` };
  return { kind: 'sleep', seconds: seconds.seconds, shape };
}

/**
 * A container's preStop. `proxy` (the pod's ebb proxy, if it has one) lets an app's httpGet to the
 * proxy's /wait-quiet count as a wait of at most its max= seconds.
 */
export function describePreStop(container: unknown, proxy?: ProxyHookTarget): PreStop {
  const preStop = isObject(container) && isObject(container.lifecycle) ? container.lifecycle.preStop : undefined;
  if (!isObject(preStop)) return { kind: 'none' };
  const h = preStop as JsonObject;
  if (isObject(h.sleep)) {
    const seconds = h.sleep.seconds;
    if (typeof seconds === 'number') return { kind: 'sleep', seconds, shape: `sleep action ${seconds}s` };
    return { kind: 'other', shape: 'sleep action without seconds' };
  }
  if (isObject(h.exec) && Array.isArray(h.exec.command)) {
    const s = execSleep(h.exec.command);
    if (s) return { kind: 'sleep', ...s };
    return { kind: 'other', shape: `exec ${h.exec.command.map(String).join(' ')}`.slice(0, 80) };
  }
  if (isObject(h.httpGet)) {
    const own = preStopHook(container as JsonObject, h.httpGet, proxy);
    if (own) return own;
    const q = proxy ? waitQuiet(container as JsonObject, h.httpGet, proxy) : null;
    return q ?? { kind: 'other', shape: `httpGet ${String(h.httpGet.path ?? '/')}` };
  }
  if (isObject(h.tcpSocket)) return { kind: 'other', shape: 'tcpSocket' };
  return { kind: 'other', shape: 'unknown handler' };
}
