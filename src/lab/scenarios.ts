/**
 * The lab's scenarios: each one is a manifest for the two pods (the old one is deleted, the new
 * one takes over), built from a plain Deployment the way a user would build theirs. `--compare`
 * runs the scenarios listed in COMPARE, in order; other parts of ebb add theirs with
 * registerScenario() (a scenario may bring its own run() when the standard one does not fit).
 */
import type { LabSettings } from './settings.js';
import type { ScenarioRun } from './report.js';
import { buildPodManifest, type PodSetup } from './manifest.js';

export interface ScenarioContext {
  settings: LabSettings;
  /** Runs the standard lab (two pods, load, deletion of "old") for a manifest. */
  runManifest(manifest: Record<string, unknown>): Promise<ScenarioRun>;
}

export interface Scenario {
  name: string;
  description(s: LabSettings): string;
  /** The manifest for the old and new pods. */
  manifest?(s: LabSettings): Record<string, unknown>;
  /** A scenario with its own flow; by default the standard lab runs manifest(). */
  run?(ctx: ScenarioContext): Promise<ScenarioRun>;
  /** Only meaningful with `--transparent` (it is about the app's outbound calls). */
  transparentOnly?: boolean;
  /** Runs as if with `--last-replica`: the old pod is the Service's only endpoint. */
  lastReplica?: boolean;
}

const registry = new Map<string, Scenario>();
/** The scenarios `--compare` runs, in this order. */
export const COMPARE: string[] = [];

export function registerScenario(s: Scenario, opts: { compare?: boolean } = {}): void {
  registry.set(s.name, s);
  if (opts.compare && !COMPARE.includes(s.name)) COMPARE.push(s.name);
}

export function scenario(name: string): Scenario | undefined {
  return registry.get(name);
}

export function scenarioNames(): string[] {
  return [...registry.keys()];
}

/** What `--compare` runs with these settings: COMPARE, less the transparent-only ones without --transparent. */
export function compareNames(s: Pick<LabSettings, 'transparent'>): string[] {
  return COMPARE.filter((n) => s.transparent || !registry.get(n)?.transparentOnly);
}

function preset(name: string, describe: (s: LabSettings) => string, setup: (s: LabSettings) => PodSetup): void {
  registerScenario({ name, description: describe, manifest: (s) => buildPodManifest(setup(s), s) }, { compare: true });
}

preset('classic-no-wait',
  () => 'classic sidecar, no proxy wait, no app preStop (Linkerd 2.10\'s default)',
  () => ({ mode: 'classic', proxyWait: '0', appPreStop: { kind: 'none' } }));

preset('classic-wait',
  (s) => `classic sidecar, proxy waits N=${s.fixedWait} s, app preStop sleep ${s.fixedWait - 1} s (the seed's recipe)`,
  (s) => ({ mode: 'classic', proxyWait: String(s.fixedWait), appPreStop: { kind: 'sleep', seconds: Math.max(0, s.fixedWait - 1) } }));

preset('classic-auto',
  () => 'classic sidecar, proxy --wait-before-exit auto, app preStop httpGet /wait-quiet (--app-wait auto)',
  () => ({ mode: 'classic', proxyWait: 'auto', appPreStop: { kind: 'wait-quiet' } }));

preset('native',
  (s) => `native sidecar, app preStop sleep N=${s.fixedWait} s`,
  (s) => ({ mode: 'native', proxyWait: '0', appPreStop: { kind: 'sleep', seconds: s.fixedWait } }));

preset('native-app-wait',
  () => 'native sidecar, app preStop httpGet /wait-quiet (--app-wait auto)',
  () => ({ mode: 'native', proxyWait: '0', appPreStop: { kind: 'wait-quiet' } }));

/**
 * KEP-1669: the pod is the Service's only endpoint (a scale to zero, the eviction of a single
 * replica before its replacement is ready), so kube-proxy falls back to it while it is terminating
 * and still `serving` (every container running, every readiness probe passing). With classic-auto's
 * setup the readiness probe (period 2 s, failureThreshold 3) decides how long it serves: the proxy
 * fails /ready once its wait is over and keeps accepting (withdrawing) until traffic stops.
 */
registerScenario({
  name: 'last-replica',
  description: () => 'classic-auto\'s setup, but the old pod is the Service\'s only endpoint: clients keep sending while it is serving (KEP-1669), then find no endpoint',
  manifest: (s) => buildPodManifest({ mode: 'classic', proxyWait: 'auto', appPreStop: { kind: 'wait-quiet' } }, s),
  lastReplica: true,
}, { compare: true });

/**
 * The seed's problem 1, for contrast with `--transparent`: classic-no-wait, but the outbound
 * listener closes at TERM, as it does in a proxy that does not know when the app is gone (Linkerd
 * 2.10). ebb does that only when told TERM means the app has exited (EBB_SIDECAR_MODE=native), so
 * this scenario tells it so, wrongly for a classic sidecar.
 */
registerScenario({
  name: 'classic-outbound-at-term',
  description: () => 'classic-no-wait, but the proxy closes outbound at TERM (EBB_SIDECAR_MODE=native on a classic sidecar): the seed\'s problem 1',
  manifest: (s) => withProxyEnv(buildPodManifest({ mode: 'classic', proxyWait: '0', appPreStop: { kind: 'none' } }, s), 'EBB_SIDECAR_MODE', 'native'),
  transparentOnly: true,
}, { compare: true });

function withProxyEnv(manifest: Record<string, unknown>, name: string, value: string): Record<string, unknown> {
  const spec = (manifest as { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } }).spec.template.spec;
  for (const c of spec.containers) {
    if (c.name !== 'ebb-proxy') continue;
    c.env = [...(c.env ?? []).filter((e) => e.name !== name), { name, value }];
  }
  return manifest;
}

/** What `ebb lab` runs without --scenario or --compare: ebb's recommended setup. */
export const DEFAULT_SCENARIO = 'native-app-wait';
