/**
 * The built-in manifest the lab starts from: a plain Deployment of one app container, then the
 * sidecar added for a scenario's setup, as `ebb inject` would write it.
 */
import type { LabSettings } from './settings.js';

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

export function buildPodManifest(setup: PodSetup, s: LabSettings): Record<string, unknown> {
  const d = baseDeployment(s) as { spec: { template: { spec: Record<string, unknown> } } };
  const pod = d.spec.template.spec;
  const app = (pod.containers as Array<Record<string, unknown>>)[0]!;
  const env = [
    { name: 'EBB_INBOUND', value: `${INBOUND_PORT}:${s.appPort}` },
    { name: 'EBB_ADMIN_PORT', value: String(ADMIN_PORT) },
  ];
  if (setup.proxyWait !== '0') env.push({ name: 'EBB_WAIT_BEFORE_EXIT', value: setup.proxyWait === 'auto' ? s.autoWait : setup.proxyWait });
  const proxy: Record<string, unknown> = {
    name: 'ebb-proxy', image: 'ebb:lab', args: ['proxy'], env,
    ports: [{ name: 'ebb-admin', containerPort: ADMIN_PORT }, { name: `ebb-in-${s.appPort}`, containerPort: INBOUND_PORT }],
  };
  if (setup.mode === 'native') pod.initContainers = [{ ...proxy, restartPolicy: 'Always' }];
  else pod.containers = [proxy, app];
  const pre = setup.appPreStop;
  if (pre.kind === 'sleep') app.lifecycle = { preStop: { exec: { command: ['/bin/sh', '-c', `sleep ${pre.seconds}`] } } };
  if (pre.kind === 'wait-quiet') app.lifecycle = { preStop: { httpGet: { path: '/wait-quiet?max=25', port: ADMIN_PORT } } };
  return d;
}
