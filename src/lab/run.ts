/**
 * One lab run: start "old" and "new" pods from a manifest, put a steady load on "old", delete it
 * at t0 with the kubelet simulator while each client moves to "new" after its propagation delay,
 * and record everything. Bounded everywhere: start timeouts, the grace period, a request cap, and
 * the run's hard deadline (everything is killed when it passes).
 */
import http from 'node:http';
import { EbbError } from '../errors.js';
import { deletePod, podModelFromSpec, podSpecOf, FAILED_HOOK, HOOK_NOT_SENT, MINIMUM_GRACE_SECONDS, type KubeletEvent, type PodContainer } from './kubelet.js';
import { kindsFor, LoadGenerator, planClients, removalView, speaksH2c, type ClientProtocol, type EndpointView } from './load.js';
import { ServingWatch } from './readiness.js';
import { realClock } from './clock.js';
import { Pleg } from './pleg.js';
import { envOf, isProxyContainer, LabPod } from './pod.js';
import { PodmanPod, PodmanSession } from './podman.js';
import { PodNetwork } from './netns.js';
import { RemoteService } from './remote.js';
import { describeProxyLog, summarize, summarizeOutbound, type CheckedFinding, type ProxyCountAtT0, type ScenarioRun } from './report.js';
import { check, resolveInjectConfig } from '../inject/index.js';
import { findingFix, findingSentence } from '../inject/messages.js';
import { scenario, type Scenario } from './scenarios.js';
import type { LabSettings } from './settings.js';

export interface Progress {
  scenario: string;
  index: number;
  of: number;
  /** Seconds since t0 (negative during warm-up), or null while starting. */
  elapsed: number | null;
  sent: number;
  failed: number;
}

export interface RunOptions {
  /** performance.now() after which everything is stopped. */
  deadline: number;
  onProgress?: (p: Progress) => void;
  index?: number;
  of?: number;
}

/** Seconds after the pod is gone and every client has switched, to show the load carrying on. */
const TAIL_SECONDS = 0.5;
/** With --transparent, the demo app calls the remote service this often (20 calls/s). */
const APP_CALL_EVERY_MS = 50;

export async function runScenario(sc: Scenario, settings: LabSettings, opts: RunOptions): Promise<ScenarioRun> {
  if (sc.lastReplica) settings = { ...settings, lastReplica: true };
  const ctx = { settings, runManifest: (m: Record<string, unknown>) => runManifest(sc.name, sc.description(settings), m, settings, opts) };
  if (sc.run) {
    // A scenario with its own flow reports its start like the others (the progress line, or its
    // "running … (i/n)" line), so --compare's count never stops one short.
    opts.onProgress?.({ scenario: sc.name, index: opts.index ?? 1, of: opts.of ?? 1, elapsed: null, sent: 0, failed: 0 });
    const r = await sc.run(ctx);
    // A scenario with its own run() (the job) makes its own processes, whatever the runtime.
    if (settings.runtime === 'podman' && r.result.config.runtime !== 'podman') {
      r.notes.push('runtime: this scenario runs its own processes on this machine; --runtime podman applies to the pod-deletion scenarios');
      r.result.config.runtime = 'process';
    }
    return r;
  }
  if (!sc.manifest) throw new EbbError('lab_scenario', `scenario ${sc.name} has neither a manifest nor a run()`);
  return ctx.runManifest(sc.manifest(settings));
}

export async function runScenarioByName(name: string, settings: LabSettings, opts: RunOptions): Promise<ScenarioRun> {
  const sc = scenario(name);
  if (!sc) throw new EbbError('lab_scenario', `unknown scenario "${name}"`);
  return runScenario(sc, settings, opts);
}

export async function runManifest(name: string, description: string, manifest: Record<string, unknown>, settings: LabSettings, opts: RunOptions): Promise<ScenarioRun> {
  const podSpec = podSpecOf(manifest);
  if (!podSpec) throw new EbbError('lab_manifest', `${name}: the manifest has no pod spec (kind ${String(manifest.kind)})`);
  const model = podModelFromSpec(podSpec);
  // A deletion with an override (kubectl delete --grace-period): the kubelet uses it instead.
  if (settings.gracePeriod !== undefined) model.graceSeconds = settings.gracePeriod;
  // The --app-command image's STOPSIGNAL: what the runtime sends the app when its spec names none.
  if (settings.stopSignal) for (const c of model.containers) if (!c.sidecar && !isProxyContainer(c) && !c.stopSignal) c.stopSignal = settings.stopSignal;
  if (model.containers.length === 0) throw new EbbError('lab_manifest', `${name}: the pod spec has no containers`);
  const notes: string[] = [];
  const checked = checkPodSpec(manifest);
  const proxyTransparent = model.containers.some((c) => envOf(c).EBB_TRANSPARENT === 'true');
  if (proxyTransparent && !settings.transparent && settings.runtime !== 'podman') notes.push('the proxy is set up for transparent interception (EBB_TRANSPARENT); without --transparent the lab runs it with explicit ports on loopback instead');
  for (const c of model.containers) {
    if (c.preStop?.kind === 'exec' && settings.runtime !== 'podman') notes.push(`${c.name}: exec preStop ${JSON.stringify(c.preStop.command)} is not a sleep; the lab does not run it (treated as finishing at once)`);
  }
  const progress = (elapsed: number | null, load?: LoadGenerator): void => {
    const c = load?.counts;
    opts.onProgress?.({ scenario: name, index: opts.index ?? 1, of: opts.of ?? 1, elapsed, sent: c?.sent ?? 0, failed: c?.failed ?? 0 });
  };
  progress(null);

  const startTimeoutMs = 20_000;
  // Plain init containers (ebb-init) run before the pod's containers when the pod has a namespace.
  const initContainers = (Array.isArray(podSpec.initContainers) ? podSpec.initContainers as Array<Record<string, unknown>> : [])
    .filter((c) => c && typeof c === 'object' && c.restartPolicy !== 'Always');
  const networks: PodNetwork[] = [];
  const remote = settings.transparent ? new RemoteService() : undefined;
  const podman = settings.runtime === 'podman' ? new PodmanSession() : undefined;
  const mk = async (pod: string, seed: number): Promise<LabPod | PodmanPod> => {
    if (podman) {
      return new PodmanPod({
        name: pod, model, startTimeoutMs: 60_000, session: podman, app: { latency: settings.latency, seed },
        initContainers: Array.isArray(podSpec.initContainers) ? podSpec.initContainers as Array<Record<string, unknown>> : [],
        shareProcessNamespace: podSpec.shareProcessNamespace === true,
        ...(remote ? { remote, appCallEveryMs: APP_CALL_EVERY_MS } : {}),
      });
    }
    let network: PodNetwork | undefined;
    let appCallUrl: string | undefined;
    if (settings.transparent) {
      network = PodNetwork.create(pod);
      networks.push(network);
      appCallUrl = await remote!.listen(network.nodeAddress);
    }
    return new LabPod({
      name: pod, model, startTimeoutMs, sidecarCommand: settings.sidecarCommand,
      app: { command: settings.appCommand, latency: settings.latency, seed },
      network, initContainers, appCallUrl, appCallEveryMs: APP_CALL_EVERY_MS,
    });
  };
  let oldPod: LabPod | PodmanPod | undefined;
  let newPod: LabPod | PodmanPod | undefined;
  let load: LoadGenerator | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let serving: ServingWatch | undefined;
  const events: KubeletEvent[] = [];
  /** t0 on the wall clock: the app reports its outbound calls in epoch milliseconds. */
  let t0Wall = 0;
  // What the clients spoke: as asked, or what the probe found (set once the pods are up).
  let usedProtocols: ClientProtocol[] | undefined;
  let proxyAtT0: ProxyCountAtT0 | undefined;
  /** t0 on performance.now(), for the serving watch's times. */
  const at = { t0: 0 };
  try {
    oldPod = await mk('old', settings.seed);
    // --last-replica: no other pod behind the Service.
    newPod = settings.lastReplica ? undefined : await mk('new', settings.seed + 1);
    await withDeadline(Promise.all([oldPod.start(), newPod?.start()]), opts.deadline, 'starting the pods');
    // Clients speak what the app speaks: as asked, or HTTP/1.1 plus h2c when the app answers h2c
    // (through the proxy, as the clients will), so an HTTP/1-only app shows no false losses.
    let protocols: ClientProtocol[] = settings.protocols ?? ['h1'];
    if (!settings.protocols) {
      if (await speaksH2c(oldPod.host, oldPod.inboundPort)) protocols = ['h1', 'h2c'];
      else notes.push('the app did not answer HTTP/2 cleartext (h2c) through the proxy, so the clients speak HTTP/1.1 only (--clients h1,h2c,grpc chooses)');
    }
    usedProtocols = protocols;
    const clients = planClients(settings.rps, settings.propagationDelay, settings.clients, kindsFor(protocols));
    let view: EndpointView = removalView;
    if (settings.lastReplica) {
      // Kube-proxy keeps the old pod while it serves; a client learns that it stopped after its delay.
      const watch = new ServingWatch(model, oldPod, realClock, new Pleg(settings.plegPeriod * 1000));
      serving = watch;
      view = (c, t) => (watch.notServingSince !== null && t >= watch.notServingSince + c.delayMs ? null : 'old');
    }
    // Everything a run can take: warm-up, grace, the 2 s floors for sidecars, the slowest client.
    const boundSeconds = settings.warmup + Math.max(model.graceSeconds + 2 * MINIMUM_GRACE_SECONDS, settings.propagationDelay) + settings.requestTimeout + 5;
    load = new LoadGenerator({
      clients, ports: { old: oldPod.inboundPort, new: (newPod ?? oldPod).inboundPort }, hosts: { old: oldPod.host, new: (newPod ?? oldPod).host },
      timeoutMs: settings.requestTimeout * 1000, maxRequests: Math.ceil(settings.rps * boundSeconds),
      model: settings.clientModel, view,
    });
    const l = load;
    load.start();
    const startedAt = performance.now();
    const clock = { t0: startedAt + settings.warmup * 1000 };
    ticker = setInterval(() => progress((performance.now() - clock.t0) / 1000, l), 250);
    await sleepUntil(Math.min(opts.deadline, startedAt + settings.warmup * 1000));
    // What the old proxy itself counted by now: proof that the clients' requests went through it.
    if (oldPod.adminPort) {
      const counted = await proxyRequestCounts(oldPod.host, oldPod.adminPort);
      if (counted) {
        const answered = l.records.filter((r) => r.target === 'old' && r.outcome === 'ok').length;
        proxyAtT0 = { inboundRequests: counted.inbound, outboundRequests: counted.outbound, clientRequestsAnsweredByOld: answered, clientPort: oldPod.inboundPort };
      }
    }

    const t0 = performance.now();
    at.t0 = t0;
    t0Wall = Date.now();
    clock.t0 = t0;
    load.markT0(t0);
    serving?.start();
    const deletion = deletePod(model, oldPod, { onEvent: (e) => events.push(e) });
    const gone = await withDeadline(deletion, opts.deadline, 'deleting the old pod').then(() => true, (e: Error) => { notes.push(e.message); return false; });
    // The last replica: every request after the pod is gone is refused whatever the setup, so the run ends there.
    if (gone && !settings.lastReplica) {
      await sleepUntil(Math.min(opts.deadline, Math.max(performance.now(), t0 + settings.propagationDelay * 1000) + TAIL_SECONDS * 1000));
    }
  } finally {
    if (ticker) clearInterval(ticker);
    serving?.stop();
    if (load) await withDeadline(load.stop(), performance.now() + (settings.requestTimeout + 1) * 1000, 'stopping the load').catch(() => {});
    await Promise.all([oldPod?.kill(), newPod?.kill()]);
    podman?.removeAllSync();
    for (const n of networks) n.destroy();
    await remote?.close();
  }
  const old = oldPod!;
  if (serving) {
    const noEndpoint = (load?.records ?? []).filter((r) => r.outcome === 'no-endpoint').length;
    notes.push(serving.notServingSince === null ? 'the old pod served until it was gone'
      : `the old pod stopped serving at ${((serving.notServingSince - at.t0) / 1000).toFixed(2)} s (${serving.why}); from then on each client, after its propagation delay, found no endpoint: ${noEndpoint} request(s) were rejected so (counted as "no endpoint", not as lost: a Service with no serving endpoint is a scale to zero, which no pod could answer); "lost" counts what failed while the client still had an endpoint, or on an established connection`);
  }
  // A hook the kubelet fails before running it (a port name not in its container, a host off the pod).
  for (const e of events) {
    if (e.type === 'preStopDone' && e.detail?.startsWith(FAILED_HOOK)) notes.push(`old pod: ${e.container}'s preStop failed at once, as the kubelet fails it (${e.detail}); the container got its stop signal without the hook's wait`);
    if (e.type === 'preStopDone' && e.detail?.startsWith(HOOK_NOT_SENT)) notes.push(`old pod: ${e.container}'s httpGet preStop was ${e.detail}`);
  }
  for (const line of old.proxyLog) {
    if (/summary|exit|shut/i.test(String(line.msg))) notes.push(`old proxy: ${describeProxyLog(line)}`);
  }
  const result = summarize(name, load?.records ?? [], events, {
    rps: settings.rps, propagationDelaySeconds: settings.propagationDelay, fixedWaitSeconds: settings.fixedWait,
    clients: planClients(settings.rps, settings.propagationDelay, settings.clients).length, clientProtocols: (usedProtocols ?? []).join(','), latency: settings.latency,
    graceSeconds: model.graceSeconds, sidecarMode: model.containers.some((c) => c.sidecar) ? 'native' : 'classic',
    containers: model.containers.map((c) => ({ name: c.name, preStop: c.preStop?.text ?? null, env: ebbEnv(c) })),
    appCommand: settings.appCommand ?? null, sidecarCommand: settings.sidecarCommand ?? null,
    clientModel: settings.clientModel, lastReplica: settings.lastReplica, runtime: settings.runtime, ...(settings.gracePeriod !== undefined ? { gracePeriodOverride: settings.gracePeriod } : {}),
  });
  if (podman) {
    notes.push(`runtime podman: each pod a podman pod (one network namespace, its own IP), one container per container in the spec from the images it names; exec hooks run with ${(old as PodmanPod).execVia} in their container, httpGet hooks to the pod IP, TERM and KILL to each container's init process, exits when it is gone (exit codes from podman wait)`);
    for (const c of model.containers) {
      const code = (old as PodmanPod).exitCodeOf(c.name);
      if (code !== null) notes.push(`old pod: ${c.name} exited ${code}`);
    }
  }
  if (proxyAtT0) {
    result.proxyAtT0 = proxyAtT0;
    notes.push(`old proxy's metrics just before t0: ${proxyAtT0.inboundRequests} inbound requests (the clients had ${proxyAtT0.clientRequestsAnsweredByOld} answered by the old pod, connecting to its port ${proxyAtT0.clientPort}), ${proxyAtT0.outboundRequests} outbound`);
  }
  if (serving) {
    result.serving = { endedSeconds: serving.notServingSince === null ? null : Math.round(serving.notServingSince - at.t0) / 1000, endedBy: serving.why };
  }
  let outboundCalls: ScenarioRun['outboundCalls'];
  if (settings.transparent) {
    // The lab starts the app before the proxy: its calls out before the pod was up are start-up, not shutdown.
    outboundCalls = old.outboundCalls.filter((c) => c.start >= old.readyAt).map((c) => ({ ...c, start: c.start - t0Wall, end: c.end - t0Wall }));
    result.appOutbound = summarizeOutbound(outboundCalls, remote?.received.get(old.host) ?? 0);
    result.config.transparent = true;
    for (const l of old.initOutput.trim().split('\n')) if (l.trim()) notes.push(`ebb-init (old pod): ${l.trim()}`);
    notes.push(`the old pod's app called ${old.outboundCalls.length > 0 ? 'the remote service' : 'nothing'} every ${APP_CALL_EVERY_MS} ms from start to exit, each call a new connection through the proxy's outbound listener; the table counts those started at or after t0`);
  }
  return { result, records: load?.records ?? [], events, description, notes, checked, ...(outboundCalls ? { outboundCalls } : {}) };
}

/**
 * `ebb check`'s rules on the manifest the lab runs, as the CLI would report them (warnings and
 * errors): a run that loses nothing can still be a setup that fails in a cluster (a wait longer
 * than the grace period is cut by the kubelet's KILL there, not here where nothing else is running).
 */
export function checkPodSpec(manifest: Record<string, unknown>): CheckedFinding[] {
  return check(manifest, resolveInjectConfig({}).config).findings
    .filter((f) => f.severity !== 'info')
    .map((f) => ({ code: f.code, severity: f.severity, message: findingSentence(f), fix: findingFix(f) }));
}

function ebbEnv(c: Pick<PodContainer, 'spec'>): Record<string, string> {
  return Object.fromEntries(Object.entries(envOf(c)).filter(([k]) => k.startsWith('EBB_')));
}

function sleepUntil(t: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
}

async function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new EbbError('lab_time_limit', `time limit reached while ${what}`)), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The proxy's ebb_requests_total summed by direction, from its admin server (undefined if it does not answer). */
function proxyRequestCounts(host: string, port: number): Promise<{ inbound: number; outbound: number } | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/metrics', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => {
        const out = { inbound: 0, outbound: 0 };
        for (const m of body.matchAll(/^ebb_requests_total\{direction="(inbound|outbound)"[^}]*\} ([0-9.e+]+)$/gm)) out[m[1] as 'inbound' | 'outbound'] += Number(m[2]);
        resolve(res.statusCode === 200 ? out : undefined);
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
