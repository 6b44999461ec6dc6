/**
 * A finished pod's phase as the kubelet computes it (getPhase in pkg/kubelet/kubelet_pods.go): from
 * the regular containers (spec.containers) only. Every one exited 0: Succeeded; otherwise Failed
 * (restartPolicy Never). A native sidecar is an init container with restartPolicy: Always, so its
 * exit code never counts (KEP-753: it is stopped once the regular containers are done, and often
 * exits non-zero then); a classic sidecar is a regular container, so its exit code counts like
 * the app's: a classic proxy that exits non-zero fails the pod.
 */
import { constants } from 'node:os';

export type Exit = { code: number | null; signal: string | null };

/** The exit code a runtime reports: the process's own, or 128 + the signal's number (137 for KILL). */
export function containerExitCode(e: Exit): number | null {
  if (e.code !== null) return e.code;
  const n = e.signal ? (constants.signals as Record<string, number>)[e.signal] : undefined;
  return n === undefined ? null : 128 + n;
}

export function podPhase(mode: 'native' | 'classic', app: Exit, proxy: Exit): 'Succeeded' | 'Failed' {
  const regular = mode === 'native' ? [app] : [app, proxy];
  return regular.every((e) => containerExitCode(e) === 0) ? 'Succeeded' : 'Failed';
}
