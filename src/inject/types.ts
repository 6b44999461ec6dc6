import type { Operation } from 'fast-json-patch';
import type { FindingCode, ReasonCode } from './messages.js';

export type { Operation };
export type SidecarMode = 'native' | 'classic';
export type Severity = 'error' | 'warning' | 'info';

/** Everything inject() needs; build one with resolveInjectConfig(), which validates and freezes it. */
export interface InjectConfig {
  readonly mode: SidecarMode;
  readonly proxyImage: string;
  /** Classic mode: the proxy's preStop delays its TERM by this many seconds (0 = none). */
  readonly waitBeforeExitSeconds: number;
  /** "MAJOR.MINOR" of the target cluster; selects the preStop `sleep` action (>= 1.30). */
  readonly kubeVersion: string;
  readonly adminPort: number;
  /** First inbound listen port; app port i is served on inboundPort + i. */
  readonly inboundPort: number;
  readonly drainTimeoutSeconds: number | null;
  /** --withdraw-timeout-seconds: the proxy's EBB_WITHDRAW_TIMEOUT (classic); null: fitted to the grace period. */
  readonly withdrawTimeoutSeconds: number | null;
  readonly logLevel: string | null;
  readonly resources: Readonly<ProxyResources>;
  /** Classic-mode Jobs/CronJobs: how the proxy learns the app is done (see inject/jobs.ts). */
  readonly jobExit: 'watch' | 'await' | 'none';
  /** Classic mode postStart: how long `ebb await` waits for /ready. */
  readonly awaitTimeout: string;
  /** Recorded in `ebb.io/injected-by`, e.g. "ebb inject 0.1.0" or "ebb injector 0.1.0". */
  readonly injectedBy: string;
  readonly proxyVersion: string;
  /** Transparent interception: the ebb-init init container (iptables) and `ebb proxy --transparent`. */
  readonly transparent: boolean;
  /** `--app-wait auto`: app containers without a preStop get an httpGet to the proxy's /wait-quiet (inject/app-wait.ts). */
  readonly appWait?: 'none' | 'auto';
  /** `--wait-before-exit auto[:MIN:QUIET:MAX]`: the proxy's own auto wait (EBB_WAIT_BEFORE_EXIT); null = not set. */
  readonly proxyWaitAuto?: string | null;
  /** The ebb-init image (needs iptables); null = derived from proxyImage (see initImageFor). */
  readonly initImage: string | null;
  /** With transparent: what `ebb-init` leaves unredirected (its --skip-* flags), as written; null = nothing. */
  readonly skipInboundPorts: string | null;
  readonly skipOutboundPorts: string | null;
  readonly skipOutboundCidrs: string | null;
}

export interface ProxyResources {
  cpuRequest: string | null;
  memoryRequest: string | null;
  cpuLimit: string | null;
  memoryLimit: string | null;
}

/** One rule result or sanity observation. `params` are the facts the sentence is rendered from. */
export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** The container the finding is about, if any. */
  readonly container?: string;
  readonly params: Readonly<Record<string, string | number>>;
}

export type ResourceStatus =
  | 'injected'      // proxy added (or re-added: see `reinjected`)
  | 'uninjected'    // inject's additions removed
  | 'annotated'     // a Namespace got ebb.io/inject: enabled
  | 'unchanged'     // nothing to do (e.g. namespace already enabled, uninject of a plain resource)
  | 'skipped'       // not a pod-carrying kind, or injection disabled: passed through
  | 'refused';      // cannot be injected safely: nothing is written for it

export interface ResourceReport {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly status: ResourceStatus;
  /** Why it was skipped/refused/unchanged. */
  readonly reason?: ReasonCode;
  /** Facts for the reason's sentence (e.g. { field: "hostNetwork" }). */
  readonly reasonParams?: Readonly<Record<string, string | number>>;
  /** True when an earlier ebb injection was removed before injecting again. */
  readonly reinjected?: boolean;
  /** Rule findings on the resulting pod template (warnings/errors/info). */
  readonly findings: readonly Finding[];
  /** Rules that were checked and held (rendered with √ under --verbose). */
  readonly passes: readonly Finding[];
  /** The timing model the rules were evaluated on (for `ebb check`'s timeline). */
  readonly timing?: TimingModel;
}

export interface InjectResult {
  /** RFC 6902 operations against the object given to inject()/uninject(). Empty when nothing changes. */
  readonly patch: Operation[];
  readonly report: ResourceReport;
}

/** What a container does when its pod is deleted, as far as the manifest says. */
export type PreStop =
  | { kind: 'none' }
  | { kind: 'sleep'; seconds: number; shape: string }
  /** ebb's own httpGet to the proxy's /wait-quiet: TERM once inbound traffic is quiet, at the latest after `seconds` (its max=). */
  | { kind: 'wait-quiet'; seconds: number; shape: string }
  | { kind: 'other'; shape: string };

export interface TimingModel {
  /** `none`: no ebb proxy in the template (plain manifest). */
  readonly mode: SidecarMode | 'none';
  /** terminationGracePeriodSeconds (G); 30 when unset. */
  readonly graceSeconds: number;
  readonly graceDefaulted: boolean;
  /** Proxy wait before exit (W): its preStop sleep plus EBB_WAIT_BEFORE_EXIT, seconds. */
  readonly proxyWaitSeconds: number;
  /** EBB_WAIT_BEFORE_EXIT=auto…: the proxy waits for quiet traffic, not a fixed W. */
  readonly proxyWaitAuto?: boolean;
  /** The auto wait's MAX (after the fixed wait W), when EBB_WAIT_BEFORE_EXIT is a valid auto spec. */
  readonly proxyWaitAutoMaxSeconds?: number;
  /** The proxy's drain deadline after TERM. */
  readonly drainTimeoutSeconds: number;
  /** EBB_WITHDRAW_TIMEOUT: withdrawing's bound, between the proxy's waits and its drain (0 or absent: none). */
  readonly proxyWithdrawSeconds?: number;
  readonly apps: readonly { name: string; preStop: PreStop }[];
  /** Another mesh's proxy (ebb check on Linkerd/Istio workloads); absent = ebb's. */
  readonly mesh?: 'linkerd' | 'istio';
  /** The proxy container's name, for the timeline (default ebb-proxy). */
  readonly proxyName?: string;
  /** The proxy exits when its drain time is up, busy or not (Istio's terminationDrainDuration). */
  readonly proxyExitsAtDrainEnd?: boolean;
  /** Of proxyWaitSeconds, the proxy's own preStop sleep (runs from t0, before its stop signal); absent = all of it. */
  readonly proxyPreStopSeconds?: number;
  /** Whether the proxy container has a preStop hook at all (a hook of 0 s still counts for the kubelet). */
  readonly proxyHasPreStop?: boolean;
  /** Native mode: every restartable init container in spec order, the proxy marked (they stop in reverse order). */
  readonly nativeSidecars?: readonly { name: string; preStop: PreStop; proxy?: true }[];
  /** The grace period comes from `--grace-period` (a deletion's override), not the manifest. */
  readonly graceOverridden?: boolean;
  /** With an override: terminationGracePeriodSeconds as written (what the API server validates against). */
  readonly manifestGraceSeconds?: number;
  /** App containers whose preStop is the `sleep` action (the API server bounds it by the grace period). */
  readonly sleepActionContainers?: readonly string[];
}
