import type { ClientModel, ClientProtocol } from './load.js';

/** The lab's knobs, with their defaults (the CLI flags map one to one). */
export interface LabSettings {
  /** Requests per second over all clients. */
  rps: number;
  /** MAX: client propagation delays are spread over [0, MAX] seconds, one client at MAX. */
  propagationDelay: number;
  /** N: what a user sizes once for the worst delay they expect (never derived from the delay). */
  fixedWait: number;
  /** The proxy's auto wait as given to --wait-before-exit (auto or auto:MIN:QUIET:MAX). */
  autoWait: string;
  /** Demo app latency distribution, e.g. "10ms:90,100ms:9,2s:1". */
  latency: string;
  /** A request without an answer after this many seconds counts as a timeout. */
  requestTimeout: number;
  /** Seconds of load before the deletion. */
  warmup: number;
  /** Number of clients (default: 24, at most one per request/s). */
  clients?: number;
  /** What the clients speak (`--clients h1,h2c,grpc`); undefined = probed: h1, plus h2c if the app answers it. */
  protocols?: ClientProtocol[];
  seed: number;
  /** The app container's port in the built-in manifest. */
  appPort: number;
  appCommand?: string;
  sidecarCommand?: string;
  /** Hard limit for the whole lab run, in seconds. */
  timeLimit: number;
  /**
   * Run each pod in its own network namespace behind `ebb init`'s iptables rules, injected with
   * `--transparent true`, the app calling a remote service through the outbound listener.
   */
  transparent: boolean;
  /** How clients reach pods: through kube-proxy (conntrack keeps open connections) or a client-side balancer. */
  clientModel: ClientModel;
  /**
   * The old pod is the Service's only endpoint (`--last-replica`, the `last-replica` scenario): no
   * new pod; clients keep sending to old while it is `serving` (KEP-1669's fallback), and learn
   * that it stopped serving after their propagation delay.
   */
  lastReplica: boolean;
  /** `--grace-period S`: delete the old pod with this grace period instead of the manifest's (a deletion's override). */
  gracePeriod?: number;
  /**
   * Where the pods run: `process` (the containers as processes on this machine) or `podman` (each
   * pod a podman pod of real containers from the images the manifest names).
   */
  runtime: 'process' | 'podman';
  /**
   * `--pleg-period S`: the kubelet learns that a container exited on its own at its next PLEG
   * relist, every S seconds (1, the generic PLEG's); 0 = at once.
   */
  plegPeriod: number;
  /** `--stop-signal NAME`: the --app-command image's STOPSIGNAL, sent to the app instead of TERM (lifecycle.stopSignal wins). */
  stopSignal?: NodeJS.Signals;
}

export const DEFAULT_SETTINGS: Readonly<LabSettings> = Object.freeze({
  rps: 200,
  propagationDelay: 5,
  fixedWait: 8,
  autoWait: 'auto',
  latency: '10ms:90,100ms:9,2s:1',
  requestTimeout: 10,
  warmup: 2,
  seed: 1,
  appPort: 8080,
  timeLimit: 600,
  transparent: false,
  clientModel: 'kube-proxy',
  lastReplica: false,
  runtime: 'process',
  plegPeriod: 1,
});
