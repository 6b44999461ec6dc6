/**
 * Every reason and finding code inject/uninject/check can produce, with the sentence it renders to
 * and (for findings) a one-line fix. The report itself carries only codes and facts; the CLI, the
 * webhook's admission warnings and `ebb check` render from this table, so the codes stay stable
 * while the wording can improve.
 */
import type { Finding, ResourceReport } from './types.js';

type Params = Readonly<Record<string, string | number>>;

/** An app preStop in a sentence: `sleep 20s`, or ebb's /wait-quiet hook with its bound. */
const preStop = (p: Params): string => (p.hook === 'wait-quiet' ? `/wait-quiet hook (at most ${p.sleep}s)` : `sleep ${p.sleep}s`);

export const REASONS = {
  unsupported_kind: (p: Params) => `kind ${p.kind} has no pod template`,
  no_pod_template: (p: Params) => `no pod spec at ${p.path}`,
  inject_disabled: (p: Params) => `annotation ${p.annotation}: disabled`,
  host_network: () => 'hostNetwork: true: the proxy cannot sit in front of an app that uses the node\'s network',
  other_mesh: (p: Params) => `another mesh's sidecar is already present (${p.container}); remove it before injecting ebb`,
  invalid_value: (p: Params) => `${p.field} is ${p.value}: ${p.problem}`,
  invalid_values: (p: Params) => `${p.count} settings are invalid: ${p.list}`,
  native_needs_kube_1_29: (p: Params) => `native sidecars need Kubernetes >= 1.29 (target is ${p.kubeVersion}); use --mode classic`,
  port_conflict: (p: Params) => `container port ${p.port} is also a proxy port; change the app port or the proxy's ${p.flag}`,
  already_enabled: () => 'already labelled and annotated ebb.io/inject: enabled',
  not_injected: () => 'not injected by ebb',
  not_an_object: () => 'not a Kubernetes object (no kind)',
  job_exit_await_no_command: (p: Params) => `--job-exit await: container "${p.container}" sets no command, so there is nothing to wrap with \`ebb await --shutdown --\` (ebb cannot see the image's ENTRYPOINT); set its command in the manifest, or use --job-exit watch`,
} as const satisfies Record<string, (p: Params) => string>;
export type ReasonCode = keyof typeof REASONS;

interface FindingText {
  /** What is wrong (or what is noted). */
  readonly message: (p: Params) => string;
  /** The one-line fix (from the facts, when the exact fix depends on them). */
  readonly fix: string | ((p: Params) => string);
  /** What held, for --verbose (rules only). */
  readonly pass?: (p: Params) => string;
}

export const FINDINGS = {
  app_prestop_not_shorter: {
    message: (p) => `app preStop ${preStop(p)} is not shorter than the proxy wait ${p.wait}s: the proxy stops accepting while the app still expects traffic`,
    fix: (p) => (p.mesh === 'linkerd'
      ? 'make the app preStop sleep shorter than config.alpha.linkerd.io/proxy-wait-before-exit-seconds (e.g. wait = sleep + 5)'
      : 'make the app preStop sleep (or /wait-quiet max=) shorter than config.ebb.io/wait-before-exit-seconds (e.g. wait = sleep + 5)'),
    pass: (p) => `app preStop ${preStop(p)} is shorter than the proxy wait ${p.wait}s`,
  },
  wait_exceeds_grace: {
    message: (p) => `proxy wait ${p.wait}s exceeds terminationGracePeriodSeconds ${p.grace}s: the kubelet abandons its preStop at ${p.grace}s, sends TERM then and SIGKILL 2 s later, so the proxy has 2 s to drain`,
    fix: 'raise terminationGracePeriodSeconds above the proxy wait plus the drain time, or lower the wait',
    pass: (p) => `proxy wait ${p.wait}s fits in terminationGracePeriodSeconds ${p.grace}s`,
  },
  auto_wait_exceeds_grace: {
    message: (p) => `the proxy's auto wait may last up to ${p.max}s${Number(p.wait) > 0 ? ` after its ${p.wait}s preStop` : ''}${p.withdraw !== undefined ? `, then withdrawing up to ${p.withdraw}s (EBB_WITHDRAW_TIMEOUT)` : ''}, ${Number(p.left) > 0 ? `leaving only ${p.left}s` : 'leaving nothing'} of terminationGracePeriodSeconds ${p.grace}s to drain: the kubelet can SIGKILL the proxy ${Number(p.left) > 0 ? 'mid-drain' : 'before it drains'}`,
    fix: 'lower MAX in --wait-before-exit auto:MIN:QUIET:MAX so that at least 5s of the grace period remain after it (or write plain `auto`, which inject fits to the grace period), or raise terminationGracePeriodSeconds',
    pass: (p) => `the proxy's auto wait (at most ${p.max}s)${p.withdraw !== undefined ? ` and withdrawing (at most ${p.withdraw}s)` : ''} leave${p.withdraw !== undefined ? '' : 's'} ${p.left}s of terminationGracePeriodSeconds ${p.grace}s to drain`,
  },
  withdraw_exceeds_grace: {
    message: (p) => `the proxy's withdrawing (EBB_WITHDRAW_TIMEOUT ${p.withdraw}s${Number(p.wait) > 0 ? `, after its ${p.wait}s wait` : ''}) ${Number(p.left) > 0 ? `leaves only ${p.left}s` : 'leaves nothing'} of terminationGracePeriodSeconds ${p.grace}s to drain: the kubelet can SIGKILL the proxy ${Number(p.left) > 0 ? 'mid-drain' : 'before it drains'}`,
    fix: 'lower EBB_WITHDRAW_TIMEOUT (--withdraw-timeout-seconds) so that at least 5s of the grace period remain after it (or leave it unset: inject fits it), or raise terminationGracePeriodSeconds',
    pass: (p) => `the proxy's withdrawing (at most ${p.withdraw}s) leaves ${p.left}s of terminationGracePeriodSeconds ${p.grace}s to drain`,
  },
  app_prestop_exceeds_grace: {
    message: (p) => (p.rejected === 'api-server'
      ? `app preStop ${preStop(p)} exceeds terminationGracePeriodSeconds ${p.grace}s: the API server rejects a sleep action longer than the grace period, so the manifest cannot be applied`
      : `app preStop ${preStop(p)} exceeds terminationGracePeriodSeconds ${p.grace}s: the kubelet abandons the ${p.hook === 'wait-quiet' ? 'wait' : 'sleep'} at ${p.grace}s, sends TERM then and SIGKILL at ${p.kill}s (the one-off 2 s extension), so the app gets 2 s to shut down`),
    fix: 'raise terminationGracePeriodSeconds above the preStop sleep (or /wait-quiet max=) plus the app\'s own shutdown time',
    pass: (p) => `app preStop ${preStop(p)} fits in terminationGracePeriodSeconds ${p.grace}s`,
  },
  no_app_prestop: {
    message: (p) => p.mode === 'native'
      ? 'app has no preStop: it gets TERM at once while clients still send to the pod'
      : `app has no preStop: it gets TERM at once while the proxy keeps forwarding to it for ${p.wait}s`,
    fix: 'add lifecycle.preStop.sleep.seconds (or exec ["sleep","N"]) to the app container, N shorter than the proxy wait',
    pass: (p) => (p.hook === 'wait-quiet' ? `app has a preStop ${preStop(p)}` : `app has a preStop sleep of ${p.sleep}s`),
  },
  no_proxy_wait: {
    message: () => 'classic mode without a proxy wait: the proxy stops accepting at TERM while clients still send',
    fix: (p) => (p.mesh === 'linkerd'
      ? 'set the annotation config.alpha.linkerd.io/proxy-wait-before-exit-seconds: "N" on the pod template (Linkerd writes a preStop sleep N on linkerd-proxy), N the longest endpoint propagation delay you expect'
      : 'set --wait-before-exit-seconds N (or config.ebb.io/wait-before-exit-seconds) to the longest endpoint propagation delay you expect'),
    pass: (p) => p.wait === 'auto' ? 'proxy waits for inbound traffic to go quiet (auto) before exit' : `proxy waits ${p.wait}s before exit`,
  },
  stop_signal_not_drained: {
    message: (p) => `ebb-proxy's lifecycle.stopSignal is ${p.signal}: the proxy drains only on SIGTERM, SIGINT or SIGQUIT, so this stop signal ends it without a drain (or not at all, until SIGKILL)`,
    fix: 'remove lifecycle.stopSignal from the ebb-proxy container, or set it to SIGTERM',
  },
  drain_exceeds_grace: {
    message: (p) => `the proxy's drain deadline (${p.drain}s) does not fit: it gets TERM at ${p.term}s${p.mode === 'native' ? ' (once the app has exited)' : ''} and the kubelet SIGKILLs it at ${p.kill}s, before the drain can end, so the proxy exits 137 (which fails a Job's or an Argo step's pod)`,
    fix: 'lower EBB_DRAIN_TIMEOUT (--drain-timeout) below what the grace period leaves at the proxy\'s TERM, or leave it unset (inject fits it), or raise terminationGracePeriodSeconds',
    pass: (p) => `the proxy's drain (at most ${p.drain}s) ends before its SIGKILL at ${p.kill}s`,
  },
  wait_ignored_in_native: {
    message: (p) => `a proxy wait after TERM (${p.wait}s) has no use in native mode: the proxy gets TERM only after the app has exited, so the wait only delays the pod's end (a preStop sleep on the proxy runs from the deletion instead)`,
    fix: 'drop the proxy wait and give the app container a preStop sleep (or --app-wait auto) instead, or use --mode classic',
  },
  no_time_to_drain: {
    message: (p) => `only ${p.left}s remain between the last TERM (${p.last}s) and the SIGKILL deadline (${p.grace}s): in-flight requests are cut`,
    fix: 'raise terminationGracePeriodSeconds so that at least 5s (better: your slowest request) remain after the last preStop',
    pass: (p) => `${p.left}s remain to drain after the last TERM`,
  },
  no_app_ports: {
    message: (p) => `no app container declares a TCP containerPort: the proxy runs without an inbound listener (EBB_INBOUND=none)${p.outbound === 'no' ? ' and, without --transparent, without an outbound one: it serves only its admin port (probes, /metrics)' : ', serving admin and outbound only'}; the rules about clients sending during shutdown (no_proxy_wait, no_app_prestop) are skipped`,
    fix: 'if the app takes inbound traffic, declare its listening ports as containerPort in the app containers',
  },
  udp_port_not_proxied: {
    message: (p) => `port ${p.port}/${p.protocol} is not proxied (TCP only)`,
    fix: 'nothing to do unless that traffic must go through ebb',
  },
  app_prestop_unchecked: {
    message: (p) => `app preStop (${p.shape}) is not a sleep ebb recognises: its timing is not checked`,
    fix: 'use lifecycle.preStop.sleep.seconds or exec ["sleep","N"] so the timing can be checked',
  },
  native_sidecar_misplaced: {
    message: () => 'ebb-proxy is an init container without restartPolicy: Always: the pod never gets past it',
    fix: 'run `ebb uninject` then `ebb inject` to rewrite the sidecar',
  },
  sidecar_mode_mismatch: {
    message: (p) => p.actual === 'classic'
      ? 'ebb-proxy is a classic sidecar but EBB_SIDECAR_MODE=native: it takes its TERM to mean the app has exited and closes outbound at once, so the app\'s own calls fail while it shuts down'
      : 'ebb-proxy is a native sidecar but EBB_SIDECAR_MODE=classic: after its TERM it keeps outbound open until the (already exited) app\'s ports have refused for 2s, so the pod ends later than it needs to',
    fix: 'set EBB_SIDECAR_MODE to where the proxy runs (or `ebb uninject` then `ebb inject`)',
  },
  proxy_not_first: {
    message: () => 'classic mode: ebb-proxy is not the first container, so the app may start before the proxy is ready',
    fix: 'run `ebb uninject` then `ebb inject` to rewrite the sidecar',
  },
  proxy_version_mismatch: {
    message: (p) => `injected by ebb ${p.injected}, this is ebb ${p.current}`,
    fix: 'run `ebb inject` again to update the sidecar',
  },
  job_exit_watch: {
    message: (p) => `${p.kind} in classic mode: shareProcessNamespace: true and EBB_EXIT_WHEN_APP_EXITS, so the proxy leaves once the app's processes are gone and the Job completes`,
    fix: 'nothing to do; use --job-exit await if the pod must not share its process namespace',
  },
  job_exit_await: {
    message: (p) => `${p.kind} in classic mode: the command of ${p.containers} now runs under \`ebb await --shutdown --\` and the proxy's /shutdown is enabled; the ebb binary must be on the PATH of each of those app images, or the container fails to start`,
    fix: 'add the ebb binary to the app image, or use --job-exit watch (no image change)',
  },
  job_exit_await_first_ends_proxy: {
    message: (p) => `--job-exit await with several app containers (${p.containers}): the first one to finish shuts the proxy down while the others may still need it`,
    fix: 'use --job-exit watch, which waits for every app container',
  },
  job_exit_watch_on_failure: {
    message: (p) => `${p.kind} with restartPolicy: OnFailure and the proxy's exit watch: after a failure the kubelet restarts the app with a back-off (10 s, 20 s, …) longer than the settle time, so the proxy may already have left and the retried app runs without it`,
    fix: 'use restartPolicy: Never with the Job\'s backoffLimit (each retry is a fresh pod), or --job-exit await, or --mode native',
  },
  job_exit_watch_other_sidecar: {
    message: (p) => `${p.kind} with its own native sidecar (${p.containers}) and the proxy's exit watch: the proxy counts the sidecar's processes as the app's, and the kubelet stops the sidecar only after the proxy's container has exited, so the Job never completes`,
    fix: 'use --job-exit await (the app\'s command ends the proxy), or --mode native (Kubernetes ends every sidecar)',
  },
  job_exit_watch_without_shared_pid: {
    message: (p) => `${p.kind}: the proxy has EBB_EXIT_WHEN_APP_EXITS but the pod does not set shareProcessNamespace: true, so the proxy never sees the app and the Job never completes`,
    fix: 'set spec.shareProcessNamespace: true on the pod template (or run `ebb inject` again)',
  },
  job_will_not_complete: {
    message: (p) => `${p.kind} with a classic-mode proxy and nothing that stops it when the app is done: the Job will not complete`,
    fix: 'run `ebb inject --job-exit watch` (or await) on it, or use --mode native',
  },
  job_exit_none: {
    message: (p) => `${p.kind} in classic mode with --job-exit none: the proxy keeps running after the app exits, so the Job will not complete`,
    fix: 'use --job-exit watch (the default) or --job-exit await, or --mode native',
  },
  service_bypasses_proxy: {
    message: (p) => `service "${p.service}" port ${p.port} targets ${p.targetPort}, the app's own port ${p.appPort} in ${p.workload}, whose proxy is not transparent: that traffic reaches the app directly and ebb never sees it (no drain, and /wait-quiet answers quiet while the app is busy)`,
    fix: (p) => `set targetPort: ebb-in-${p.appPort} on port ${p.port} of service "${p.service}", or inject with --transparent true (the default)`,
  },
  linkerd_native_wait_conflict: {
    message: (p) => `a ${p.wait}s proxy wait (${p.field}) on a native linkerd-proxy: Linkerd's injector refuses the pair (linkerd#12164), and a native sidecar's preStop runs from the pod's deletion, not before its TERM, which comes only after the app has exited anyway`,
    fix: 'drop config.alpha.linkerd.io/proxy-wait-before-exit-seconds (the native sidecar already outlives the app) and give the app container a preStop sleep for the endpoint propagation delay',
  },
  linkerd_job_will_not_complete: {
    message: (p) => `${p.kind} with a classic linkerd-proxy, and ${p.containers} not run under \`linkerd-await --shutdown\`: the proxy keeps running after the app exits, so the Job never completes`,
    fix: 'wrap each app command in `linkerd-await --shutdown --` (with config.alpha.linkerd.io/proxy-enable-shutdown-endpoint: "true"), or set config.alpha.linkerd.io/proxy-enable-native-sidecar: "true"',
  },
  linkerd_shutdown_endpoint_disabled: {
    message: (p) => `${p.kind} runs under \`linkerd-await --shutdown\` but the proxy's shutdown endpoint is not enabled (LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED): the call fails and the Job never completes`,
    fix: 'set the annotation config.alpha.linkerd.io/proxy-enable-shutdown-endpoint: "true" on the pod template',
  },
  istio_proxy_gone_before_app: {
    message: (p) => `app preStop sleep ${p.sleep}s outlasts istio-proxy, which ${Number(p.wait) > 0 ? `gets TERM at ${p.wait}s and ` : 'gets TERM at 0s with the app and '}exits by ${p.end}s (terminationDrainDuration ${p.drain}s): the app still runs, and its calls out fail, after the proxy is gone`,
    fix: 'raise terminationDrainDuration in proxy.istio.io/config above the app\'s preStop plus its own shutdown time (and terminationGracePeriodSeconds with it), or shorten the app\'s preStop',
    pass: (p) => `app preStop sleep ${p.sleep}s ends before istio-proxy exits (by ${p.end}s)`,
  },
  istio_no_proxy_wait: {
    message: (p) => `istio-proxy gets TERM at 0s and stops accepting new inbound connections while clients that have not yet seen the endpoint removal still send; it exits by ${p.drain}s (terminationDrainDuration)`,
    fix: 'give the app a preStop sleep for the propagation delay and a terminationDrainDuration longer than it, or a preStop sleep on istio-proxy itself (values.global.proxy.lifecycle)',
  },
  istio_drain_exceeds_grace: {
    message: (p) => `istio-proxy may run until ${p.end}s, past terminationGracePeriodSeconds ${p.grace}s: the kubelet kills it mid-drain`,
    fix: 'raise terminationGracePeriodSeconds above terminationDrainDuration (plus any istio-proxy preStop), or lower terminationDrainDuration',
    pass: (p) => `istio-proxy is gone by ${p.end}s, within terminationGracePeriodSeconds ${p.grace}s`,
  },
  istio_exit_on_zero_connections: {
    message: (p) => `EXIT_ON_ZERO_ACTIVE_CONNECTIONS: istio-proxy exits as soon as it has no active connections, which can be before the app's ${p.longest}s preStop ends: the app's calls out during its shutdown then fail`,
    fix: 'leave EXIT_ON_ZERO_ACTIVE_CONNECTIONS unset when the app calls out while it shuts down, or use native sidecars (the proxy then gets TERM only after the app exits)',
  },
  istio_app_starts_before_proxy: {
    message: () => 'istio-proxy is a classic sidecar without holdApplicationUntilProxyStarts: the app may start, and call out, before the proxy is ready',
    fix: 'set holdApplicationUntilProxyStarts: true in proxy.istio.io/config, or use native sidecars',
  },
  istio_job_will_not_complete: {
    message: (p) => `${p.kind} with a classic istio-proxy and no app command that calls the agent's /quitquitquit: the proxy keeps running after the app exits, so the Job never completes`,
    fix: 'end the app command with `curl -fsS -X POST http://127.0.0.1:15020/quitquitquit`, or use native sidecars (ENABLE_NATIVE_SIDECARS)',
  },
  unknown_setting: {
    message: (p) => `annotation ${p.annotation} is not an ebb setting, so it is ignored and the default applies${p.suggestion ? `: did you mean ${p.suggestion}?` : ''}`,
    fix: (p) => (p.suggestion ? `rename it to ${p.suggestion}` : 'remove it, or use one of the config.ebb.io/ settings listed in docs/inject.md'),
  },
  pod_security_forbids_init: {
    message: (p) => `namespace "${p.namespace}" enforces Pod Security "${p.level}" (pod-security.kubernetes.io/enforce), which forbids what ebb-init needs (adding the NET_ADMIN and NET_RAW capabilities${p.level === 'restricted' ? ', and running as root' : ''}): ${
      p.kind === 'Namespace' ? 'every pod the webhook injects here with ebb-init (its default, --transparent true) is rejected'
      : p.kind === 'Pod' ? `the API server rejects pod "${p.name}"`
      : `the API server rejects every pod of ${String(p.kind).toLowerCase()} "${p.name}" (the ${String(p.kind).toLowerCase()} itself is accepted; its pods fail to be created: FailedCreate events)`}`,
    fix: (p) => `label the namespace privileged (kubectl label --overwrite namespace ${p.namespace} pod-security.kubernetes.io/enforce=privileged), or inject with --transparent false (no ebb-init; Services must then target the ebb-in-<port> ports); ebb has no CNI plugin that would set up the rules outside the pod`,
  },
  hook_host_is_node_loopback: {
    message: (p) => `${p.field}.host is ${p.host}: the kubelet sends it from the node, so that is the node's own loopback, where none of the pod's ports are; in every cluster ${
      String(p.field).startsWith('lifecycle.preStop') ? 'the hook is refused at once (a FailedPreStopHook event) and the container gets its stop signal without it'
      : String(p.field).startsWith('lifecycle.postStart') ? 'the hook fails (FailedPostStartHook) and the kubelet kills the container'
      : 'the probe fails every time'}`,
    fix: 'remove host: the kubelet then sends the request to the pod\'s IP',
  },
  named_port_not_in_container: {
    message: (p) => `${p.field}.port "${p.port}" names no port of this container${p.owner ? ` (it is container "${p.owner}"'s)` : ''}: the kubelet looks a port name up only in the container's own ports, so in every cluster ${
      String(p.field).startsWith('lifecycle.preStop') ? 'the hook fails at once (a FailedPreStopHook event) and the container gets its stop signal without it'
      : String(p.field).startsWith('lifecycle.postStart') ? 'the hook fails (FailedPostStartHook) and the kubelet kills the container'
      : 'the probe fails every time'}`,
    fix: (p) => (p.number !== undefined ? `write the port number (${p.number}) instead of the name, or declare the port on this container` : `declare a port named "${p.port}" on this container, or write its number`),
  },
  not_injected: {
    message: (p) => `not injected yet: checked as \`ebb inject --mode ${p.mode}\` would write it`,
    fix: 'run `ebb inject` on this manifest',
  },
} as const satisfies Record<string, FindingText>;
export type FindingCode = keyof typeof FINDINGS;

export function reasonSentence(code: ReasonCode, params: Params = {}): string {
  return REASONS[code](params);
}

/** `Linkerd: ` before a finding about another mesh's workload, so each names its mesh. */
function meshPrefix(f: Finding): string {
  return f.params.mesh === 'linkerd' ? 'Linkerd: ' : f.params.mesh === 'istio' ? 'Istio: ' : '';
}

export function findingSentence(f: Finding): string {
  const text = FINDINGS[f.code].message(f.params);
  return meshPrefix(f) + (f.container ? `container "${f.container}": ${text}` : text);
}

export function passSentence(f: Finding): string {
  const entry: FindingText = FINDINGS[f.code];
  const text = entry.pass ? entry.pass(f.params) : f.code;
  return meshPrefix(f) + (f.container ? `container "${f.container}": ${text}` : text);
}

export function findingFix(f: Finding): string {
  const fix: FindingText['fix'] = FINDINGS[f.code].fix;
  return typeof fix === 'function' ? fix(f.params) : fix;
}

/** `deployment "web"` (namespace omitted: the report lines stay short and stable). */
export function resourceLabel(r: Pick<ResourceReport, 'kind' | 'name'>): string {
  return `${r.kind.toLowerCase()} "${r.name}"`;
}
