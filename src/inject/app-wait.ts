/**
 * `--app-wait auto`: each app container without a preStop of its own gets an httpGet preStop to the
 * proxy's GET /wait-quiet on the admin port. The kubelet then sends the app TERM only once inbound
 * traffic has been quiet (or at `max`), instead of after a guessed sleep. Opt-in; a user's hook is
 * never overwritten. `--wait-before-exit auto[:MIN:QUIET:MAX]` sets the proxy's own auto wait
 * (EBB_WAIT_BEFORE_EXIT), the classic-mode counterpart.
 */
import { MIN_DRAIN_SECONDS, PROXY_CONTAINER, proxyTiming } from './sidecar.js';
import { AUTO_DEFAULTS, parseWaitBeforeExit } from '../drain/waiting.js';
import { isObject, pointer, type Json, type JsonObject } from './workloads.js';
import type { PatchBuilder, Path } from './patch.js';
import type { InjectConfig } from './types.js';

export type AppWait = 'none' | 'auto';

/**
 * The proxy's auto wait spec, or a problem. Read by the proxy's own parser, so inject never writes
 * an EBB_WAIT_BEFORE_EXIT the proxy would refuse at start (it did for a QUIET of 0).
 */
export function parseAutoWait(raw: string): { ok: true; value: string } | { ok: false; problem: string } {
  const t = raw.trim();
  const r = parseWaitBeforeExit(t);
  if (r.ok && r.value.mode === 'auto') return { ok: true, value: t };
  return { ok: false, problem: 'must be auto or auto:MIN:QUIET:MAX (seconds, MIN <= MAX, QUIET > 0); use --wait-before-exit-seconds for a fixed wait' };
}

/**
 * How long the app's hook may wait: the proxy's auto MAX as inject writes it (proxyTiming: fitted
 * to the grace period in classic mode) plus its withdrawing timeout, else the proxy's default 25 s,
 * but leaving the app and the proxy at least MIN_DRAIN_SECONDS of the grace period to drain. In classic mode with only a fixed
 * proxy wait W, also shorter than W (the app_prestop_not_shorter rule): the app must get its TERM
 * while the proxy still serves.
 */
export function waitQuietMax(config: InjectConfig, graceSeconds: number): number {
  // Classic with an auto wait: the proxy accepts through its wait and its withdrawing, so the app
  // must serve as long (its hook ends once inbound is quiet, with the proxy's withdrawing).
  const timing = proxyTiming(config, graceSeconds);
  let max = config.proxyWaitAuto ? timing.autoMaxSeconds + timing.withdrawSeconds : AUTO_DEFAULTS.maxSeconds;
  if (config.mode === 'classic' && !config.proxyWaitAuto && config.waitBeforeExitSeconds > 0) max = Math.min(max, config.waitBeforeExitSeconds - 1);
  return Math.max(1, Math.min(max, graceSeconds - MIN_DRAIN_SECONDS));
}

export function waitQuietHook(config: InjectConfig, graceSeconds: number): JsonObject {
  return { httpGet: { path: `/wait-quiet?max=${waitQuietMax(config, graceSeconds)}`, port: config.adminPort } };
}

interface UndoSink { push(e: { op: 'remove' | 'replace'; path: string; value?: Json; container?: string; ifEmpty?: boolean }): void }

/** Adds the /wait-quiet preStop to app containers without one; returns the names changed. */
export function applyAppWait(b: PatchBuilder, specPath: Path, config: InjectConfig, graceSeconds: number, undo: UndoSink): string[] {
  if (config.appWait !== 'auto') return [];
  const changed: string[] = [];
  const list = b.get([...specPath, 'containers']);
  if (!Array.isArray(list)) return [];
  list.forEach((c, i) => {
    if (!isObject(c) || c.name === PROXY_CONTAINER) return;
    const lifecycle = c.lifecycle;
    if (isObject(lifecycle) && lifecycle.preStop !== undefined) return; // never overwrite a user's hook
    const name = String(c.name);
    if (isObject(lifecycle)) {
      undo.push({ op: 'remove', container: name, path: pointer(['lifecycle', 'preStop']) });
    } else {
      undo.push({ op: 'remove', container: name, path: pointer(['lifecycle']) });
      b.set([...specPath, 'containers', i, 'lifecycle'], {});
    }
    b.set([...specPath, 'containers', i, 'lifecycle', 'preStop'], waitQuietHook(config, graceSeconds));
    changed.push(name);
  });
  return changed;
}
