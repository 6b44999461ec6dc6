/**
 * The built-in manifest the lab starts from: a plain Deployment of one app container, then the
 * sidecar added for a scenario's setup by inject(), the same code path as `ebb inject`.
 */
import { EbbError, UsageError } from '../errors.js';
import { injectObject, resolveInjectConfig } from '../inject/index.js';
import type { LabSettings } from './settings.js';
import { podSpecOf } from './kubelet.js';
import { findProxy } from '../inject/rules.js';
import { meshOf, MESH_NAMES } from '../inject/meshes.js';
import { isJobKind } from '../inject/jobs.js';
import { appPorts } from '../inject/sidecar.js';
import { getIn, isObject, type JsonObject } from '../inject/workloads.js';

export type AppPreStop =
  | { kind: 'none' }
  | { kind: 'sleep'; seconds: number }
  /** httpGet to the proxy's /wait-quiet on its admin port (`ebb inject --app-wait auto`). */
  | { kind: 'wait-quiet' };

export interface PodSetup {
  mode: 'classic' | 'native';
  /** The proxy's --wait-before-exit: seconds, or 'auto'. */
  proxyWait: string;
  appPreStop: AppPreStop;
}

export const ADMIN_PORT = 4191;
export const INBOUND_PORT = 4143;

export function baseDeployment(s: Pick<LabSettings, 'appPort'>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'lab-demo' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'lab-demo' } },
      template: {
        metadata: { labels: { app: 'lab-demo' } },
        spec: {
          containers: [{ name: 'app', image: 'ebb-lab/demo-app', ports: [{ name: 'http', containerPort: s.appPort }] }],
        },
      },
    },
  };
}

/**
 * The Deployment for a scenario: the base, with the app's own preStop if the setup has one, then
 * injected by inject() with the setup's flags, exactly as `ebb inject` would write it.
 */
export function buildPodManifest(setup: PodSetup, s: Pick<LabSettings, 'appPort' | 'autoWait' | 'transparent'>): Record<string, unknown> {
  const base = baseDeployment(s) as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
  const app = base.spec.template.spec.containers[0]!;
  const pre = setup.appPreStop;
  if (pre.kind === 'sleep') {
    // Two shapes seen in the wild: exec sleep in classic mode, the sleep action in native mode.
    app.lifecycle = setup.mode === 'classic'
      ? { preStop: { exec: { command: ['/bin/sh', '-c', `sleep ${pre.seconds}`] } } }
      : { preStop: { sleep: { seconds: pre.seconds } } };
  }
  const raw: Record<string, string | undefined> = {
    mode: setup.mode,
    'app-wait': pre.kind === 'wait-quiet' ? 'auto' : undefined,
    'wait-before-exit': setup.proxyWait === 'auto' ? s.autoWait : undefined,
    'wait-before-exit-seconds': setup.proxyWait !== 'auto' && setup.proxyWait !== '0' ? setup.proxyWait : undefined,
    'admin-port': String(ADMIN_PORT),
    'inbound-port': String(INBOUND_PORT),
    transparent: s.transparent ? 'true' : 'false',
  };
  const { config, problems } = resolveInjectConfig(raw, { injectedBy: 'ebb lab' });
  if (problems.length) throw new UsageError(`lab: ${problems.map((p) => `--${p.flag} ${p.value}: ${p.problem}`).join('; ')}`);
  const { object, report } = injectObject(base, config);
  if (report.status !== 'injected') throw new EbbError('lab_inject', `lab: inject() did not inject the built-in Deployment (${report.status}: ${report.reason ?? ''})`);
  return object as Record<string, unknown>;
}

/**
 * What `ebb lab --manifest` cannot model faithfully: `refuse` (the run would mean nothing) or
 * `warnings` (it runs, and the report says what differs from a cluster).
 */
export function manifestLimits(obj: Record<string, unknown>, file: string): { refuse?: string; warnings: string[] } {
  const warnings: string[] = [];
  const kind = String(obj.kind ?? '');
  const spec = (podSpecOf(obj) ?? {}) as JsonObject;
  const tplPath = kind === 'Pod' ? [] : kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template'];
  const tpl = getIn(obj, tplPath);
  const annotations = getIn(tpl, ['metadata', 'annotations']);
  const labels = getIn(tpl, ['metadata', 'labels']);
  const mesh = findProxy(spec) ? null : meshOf(spec, isObject(annotations) ? annotations : {}, isObject(labels) ? labels : {});
  if (mesh) {
    return { warnings, refuse: `${file} is a workload of ${MESH_NAMES[mesh]}: the lab runs ebb proxy and the demo app, so it cannot play ${mesh}-proxy (its wait, drain and outbound rules are ${MESH_NAMES[mesh]}'s) and its result would mean nothing. Check its shutdown timing with \`ebb check ${file}\`, or run the lab on it as \`ebb inject\` writes it once ${MESH_NAMES[mesh]}'s sidecar is removed` };
  }
  if (isJobKind(kind) || spec.restartPolicy === 'Never' || spec.restartPolicy === 'OnFailure') {
    return { warnings, refuse: `${file} is a ${kind === 'Pod' ? 'run-to-completion Pod' : kind}: its pod ends when its work ends, not when it is deleted under load, so a load test of it measures nothing. Run \`ebb lab --scenario job\` (a Job through its proxy in each setup, and whether its pod completes), and \`ebb check ${file}\`` };
  }
  if (appPorts(spec).tcp.length === 0) {
    return { warnings, refuse: `${file} declares no TCP containerPort: nothing for the lab's clients to send to. Declare the app's port (containerPort), or check the timing with \`ebb check ${file}\`` };
  }
  if (!findProxy(spec)) warnings.push(`${file} has no ebb-proxy: the lab deletes the app alone and clients connect straight to it (what \`ebb inject\` would change is not in this run)`);
  return { warnings };
}
