/**
 * Jobs and CronJobs in classic mode. A Job's pod completes only when every container has ended,
 * but a classic sidecar runs until TERM, so an injected Job would never finish. `--job-exit`:
 *  - watch (default): `shareProcessNamespace: true` and the proxy's EBB_EXIT_WHEN_APP_EXITS, so the
 *    proxy sees the app's processes and leaves when they are gone; no change to the app image.
 *  - await: each app container's `command` is wrapped in `ebb await --shutdown --`, and the proxy's
 *    /shutdown is enabled; the ebb binary must be in the app image.
 *  - none: left to the user; the Job will not complete (said so in the report).
 * Native mode needs none of this: Kubernetes does not wait for native sidecars to complete a Job.
 */
import { PROXY_CONTAINER } from './sidecar.js';
import { isObject, pointer, type Json, type JsonObject } from './workloads.js';
import type { PatchBuilder, Path } from './patch.js';
import type { Finding, InjectConfig } from './types.js';
import type { ReasonCode } from './messages.js';

export type JobExit = 'watch' | 'await' | 'none';
export const JOB_EXITS: readonly JobExit[] = ['watch', 'await', 'none'];

const JOB_KINDS: readonly string[] = ['Job', 'CronJob'];

export function isJobKind(kind: string): boolean {
  return JOB_KINDS.includes(kind);
}

function appContainers(spec: JsonObject): JsonObject[] {
  const list = Array.isArray(spec.containers) ? spec.containers : [];
  return list.filter((c): c is JsonObject => isObject(c) && c.name !== PROXY_CONTAINER);
}

/** The `ebb await` wrapper for one app command; the inverse is `unwrapAwait`. */
export function awaitCommand(config: InjectConfig, command: readonly Json[]): Json[] {
  return ['ebb', 'await', '--shutdown', ...(config.adminPort === 4191 ? [] : ['--port', String(config.adminPort)]),
    '--timeout', config.awaitTimeout, '--', ...command];
}

/** Why `--job-exit await` cannot be applied to this template, if it cannot. */
export function jobExitRefusal(kind: string, spec: JsonObject, config: InjectConfig): { reason: ReasonCode; params: Record<string, string> } | null {
  if (config.mode !== 'classic' || !isJobKind(kind) || config.jobExit !== 'await') return null;
  for (const c of appContainers(spec)) {
    // Without `command` the image's ENTRYPOINT runs, which the manifest does not tell us, so there
    // is nothing to put after `ebb await --shutdown --`.
    if (!Array.isArray(c.command) || c.command.length === 0) return { reason: 'job_exit_await_no_command', params: { container: String(c.name) } };
  }
  return null;
}

interface UndoSink { push(e: { op: 'remove' | 'replace'; path: string; value?: Json; container?: string }): void }

/**
 * Applies the chosen job exit to a classic-mode Job/CronJob template whose proxy is already at
 * containers[0]; records what it changed in `undo`; returns the report's findings.
 */
export function applyJobExit(b: PatchBuilder, kind: string, tplPath: Path, config: InjectConfig, undo: UndoSink): Finding[] {
  if (config.mode !== 'classic' || !isJobKind(kind)) return [];
  const specPath = [...tplPath, 'spec'];
  const spec = b.get(specPath) as JsonObject;
  const proxyEnv = [...specPath, 'containers', 0, 'env'];
  const addProxyEnv = (name: string): void => {
    b.ensureArray(proxyEnv);
    b.add([...proxyEnv, (b.get(proxyEnv) as Json[]).length], { name, value: 'true' });
  };

  if (config.jobExit === 'watch') {
    if (spec.shareProcessNamespace !== true) {
      const had = Object.prototype.hasOwnProperty.call(spec, 'shareProcessNamespace');
      undo.push(had ? { op: 'replace', path: '/spec/shareProcessNamespace', value: spec.shareProcessNamespace ?? null }
        : { op: 'remove', path: '/spec/shareProcessNamespace' });
      b.set([...specPath, 'shareProcessNamespace'], true);
    }
    addProxyEnv('EBB_EXIT_WHEN_APP_EXITS');
    return [{ code: 'job_exit_watch', severity: 'info', params: { kind } }, ...watchLimitFindings(kind, spec)];
  }

  if (config.jobExit === 'await') {
    addProxyEnv('EBB_SHUTDOWN_ENDPOINT');
    const names: string[] = [];
    const containers = b.get([...specPath, 'containers']) as Json[];
    containers.forEach((c, i) => {
      if (!isObject(c) || c.name === PROXY_CONTAINER || !Array.isArray(c.command)) return;
      undo.push({ op: 'replace', container: String(c.name), path: pointer(['command']), value: c.command });
      b.replace([...specPath, 'containers', i, 'command'], awaitCommand(config, c.command));
      names.push(String(c.name));
    });
    const findings: Finding[] = [{ code: 'job_exit_await', severity: 'warning', params: { kind, containers: names.join(', ') } }];
    if (names.length > 1) findings.push({ code: 'job_exit_await_first_ends_proxy', severity: 'warning', params: { containers: names.join(', ') } });
    return findings;
  }

  return [{ code: 'job_exit_none', severity: 'warning', params: { kind } }];
}

/**
 * The exit watch's limits (docs/jobs.md, "Limits") that a pod spec shows: restartPolicy OnFailure
 * (the kubelet's back-off restarts outlast the settle time, so the proxy may leave before a retried
 * app is back), and a native sidecar of the app's own (its processes count as the app's, and the
 * kubelet stops it only after the regular containers, the proxy among them, have exited).
 */
export function watchLimitFindings(kind: string, spec: JsonObject): Finding[] {
  const out: Finding[] = [];
  if (spec.restartPolicy === 'OnFailure') out.push({ code: 'job_exit_watch_on_failure', severity: 'warning', params: { kind } });
  const init = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  const sidecars = init.filter((c): c is JsonObject => isObject(c) && c.restartPolicy === 'Always' && c.name !== PROXY_CONTAINER).map((c) => String(c.name));
  if (sidecars.length > 0) out.push({ code: 'job_exit_watch_other_sidecar', severity: 'warning', params: { kind, containers: sidecars.join(', ') } });
  return out;
}

function envTrue(container: JsonObject, name: string): boolean {
  const env = Array.isArray(container.env) ? container.env : [];
  return env.some((e) => isObject(e) && e.name === name && typeof e.value === 'string' && /^(true|1|yes|on)$/i.test(e.value));
}

function wrappedByAwaitShutdown(c: JsonObject): boolean {
  const cmd = Array.isArray(c.command) ? c.command.map(String) : [];
  const sep = cmd.indexOf('--');
  const head = sep < 0 ? cmd : cmd.slice(0, sep);
  return head[1] === 'await' && /(^|\/)(ebb|kubectl-ebb)(\.js)?$/.test(head[0] ?? '') && head.includes('--shutdown') && sep > 0 && sep < cmd.length - 1;
}

/**
 * `ebb check` on an injected classic Job/CronJob template: does anything make the proxy leave when
 * the app is done? (A hand-edited or older manifest may have lost it.)
 */
export function jobExitCheck(kind: string, spec: JsonObject): Finding[] {
  if (!isJobKind(kind)) return [];
  const list = Array.isArray(spec.containers) ? spec.containers : [];
  const proxy = list.find((c): c is JsonObject => isObject(c) && c.name === PROXY_CONTAINER);
  if (!proxy) return []; // native mode (or not injected): Kubernetes completes the Job
  if (envTrue(proxy, 'EBB_EXIT_WHEN_APP_EXITS')) {
    if (spec.shareProcessNamespace === true) return watchLimitFindings(kind, spec);
    return [{ code: 'job_exit_watch_without_shared_pid', severity: 'error', params: { kind } }];
  }
  const apps = appContainers(spec);
  if (envTrue(proxy, 'EBB_SHUTDOWN_ENDPOINT') && apps.length > 0 && apps.every(wrappedByAwaitShutdown)) return [];
  return [{ code: 'job_will_not_complete', severity: 'warning', params: { kind } }];
}
