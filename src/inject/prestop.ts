/**
 * Recognises a container's preStop as a sleep of N seconds in every shape people write it:
 * the `sleep` lifecycle action, exec ["sleep","20"], ["/bin/sleep","20"], ["ebb","sleep","20"],
 * ["/bin/sh","-c","sleep 20"], ["/bin/bash","-c","sleep 20 && nginx -s quit"], busybox sleep.
 * Anything else is `other` (its timing cannot be checked). `ebb check` and the lab's kubelet both
 * read preStops through this file, so the timing they report for a manifest cannot disagree.
 */
import { isObject, type JsonObject } from './workloads.js';
import type { PreStop } from './types.js';

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

export function describePreStop(container: unknown): PreStop {
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
  if (isObject(h.httpGet)) return { kind: 'other', shape: `httpGet ${String(h.httpGet.path ?? '/')}` };
  if (isObject(h.tcpSocket)) return { kind: 'other', shape: 'tcpSocket' };
  return { kind: 'other', shape: 'unknown handler' };
}
