/**
 * A Kubernetes minor version, as `--kube-version 1.31` (also `v1.31`, `1.31.4`, `v1.29.3-gke.1`).
 * One reading of versions for `ebb inject` (sleep action, native sidecars) and `ebb install`.
 */
export interface KubeVersion { major: number; minor: number }

/** The oldest version `ebb install` writes manifests for: policy/v1 PDBs and the automatic
 * `kubernetes.io/metadata.name` namespace label (used by the webhook's namespaceSelector) are GA. */
export const MIN_KUBE_VERSION: KubeVersion = { major: 1, minor: 23 };
export const DEFAULT_KUBE_VERSION: KubeVersion = { major: 1, minor: 31 };

export function parseKubeVersion(text: string): KubeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function formatKubeVersion(v: KubeVersion): string {
  return `${v.major}.${v.minor}`;
}

export function atLeast(v: KubeVersion, major: number, minor: number): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/**
 * Fields `ebb install` writes only from the version where they are on by default, so the output
 * applies cleanly to that cluster. Tests read this table to check the output both ways.
 */
export const VERSIONED_FIELDS = {
  /** PDB: let unhealthy injector pods be evicted so they never block a node drain (beta 1.27). */
  pdbUnhealthyPodEvictionPolicy: { since: { major: 1, minor: 27 } },
  /** topologySpreadConstraints[].matchLabelKeys: spread each rollout's pods, not old+new (beta 1.27). */
  topologySpreadMatchLabelKeys: { since: { major: 1, minor: 27 } },
  /** lifecycle.preStop.sleep (beta 1.30); before that the distroless image runs `ebb sleep`. */
  preStopSleepAction: { since: { major: 1, minor: 30 } },
} as const;

export type VersionedField = keyof typeof VERSIONED_FIELDS;

export function hasField(v: KubeVersion, field: VersionedField): boolean {
  const { since } = VERSIONED_FIELDS[field];
  return atLeast(v, since.major, since.minor);
}
