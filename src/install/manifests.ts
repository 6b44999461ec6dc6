/**
 * The objects `ebb install` prints: everything the injector needs in a cluster, and nothing else.
 * Each object is typed with kubernetes-models' interfaces, so a misspelt field fails to compile.
 */
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import type { IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import type { IMutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { formatKubeVersion, hasField, type KubeVersion } from '../kube-version.js';
import type { WebhookCertificates } from './certs.js';

export const INSTALL_NAMESPACE = 'ebb-system';
export const INJECTOR_NAME = 'ebb-injector';
export const WEBHOOK_PATH = '/inject';
export const INJECTOR_PORT = 8443;
export const TLS_MOUNT = '/var/run/ebb/tls';
/** Namespaces the webhook never sees: the system's own, and ours (our pods must start without us). */
export const EXCLUDED_NAMESPACES = ['kube-system', INSTALL_NAMESPACE] as const;
/** A namespace label that turns the webhook off for that namespace entirely. */
export const WEBHOOK_OPT_OUT_LABEL = 'config.ebb.io/admission-webhooks';
/**
 * The label that opts a namespace in (on a namespace) or a pod out (`disabled` on a pod). Only pods
 * of namespaces labelled `enabled` are ever sent to the webhook, so a down injector with
 * failurePolicy Fail can block pod creation there and nowhere else.
 */
export const INJECT_LABEL = 'ebb.io/inject';

export type FailurePolicy = 'Fail' | 'Ignore';

export interface InstallOptions {
  version: string;
  image: string;
  kubeVersion: KubeVersion;
  failurePolicy: FailurePolicy;
  timeoutSeconds: number;
  /** Use this existing kubernetes.io/tls Secret (e.g. from cert-manager) instead of generating one. */
  tlsSecret?: string;
  /** Generated certificates (when no tlsSecret). */
  certs?: WebhookCertificates;
  /** PEM CA for caBundle when tlsSecret is used; without it, cert-manager's CA injector fills it. */
  caBundlePem?: string;
}

export type KubeObject =
  | INamespace | IServiceAccount | IClusterRole | IClusterRoleBinding | ISecret | IService
  | IDeployment | IPodDisruptionBudget | IMutatingWebhookConfiguration;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function renderInstall(opts: InstallOptions): KubeObject[] {
  if (!opts.tlsSecret && !opts.certs) throw new Error('renderInstall needs either tlsSecret or certs');
  const secretName = opts.tlsSecret ?? `${INJECTOR_NAME}-tls`;
  const selector = { 'app.kubernetes.io/name': INJECTOR_NAME };
  const labels = {
    ...selector,
    'app.kubernetes.io/part-of': 'ebb',
    'app.kubernetes.io/component': 'injector',
    'app.kubernetes.io/version': opts.version,
  };
  const ns = INSTALL_NAMESPACE;
  const objects: KubeObject[] = [];

  objects.push({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: {
      name: ns,
      labels: {
        'app.kubernetes.io/part-of': 'ebb',
        // The injector pod meets the "restricted" Pod Security Standard; enforce it.
        'pod-security.kubernetes.io/enforce': 'restricted',
        [WEBHOOK_OPT_OUT_LABEL]: 'disabled',
      },
      annotations: { 'ebb.io/inject': 'disabled' },
    },
  });

  objects.push({
    apiVersion: 'v1', kind: 'ServiceAccount',
    metadata: { name: INJECTOR_NAME, namespace: ns, labels },
  });

  // The injector reads namespace annotations, nothing else.
  objects.push({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',
    metadata: { name: INJECTOR_NAME, labels },
    rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get'] }],
  });
  objects.push({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding',
    metadata: { name: INJECTOR_NAME, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: INJECTOR_NAME },
    subjects: [{ kind: 'ServiceAccount', name: INJECTOR_NAME, namespace: ns }],
  });

  if (opts.certs) {
    objects.push({
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: secretName, namespace: ns, labels },
      data: { 'tls.crt': b64(opts.certs.cert), 'tls.key': b64(opts.certs.key), 'ca.crt': b64(opts.certs.caCert) },
    });
  }

  objects.push({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: INJECTOR_NAME, namespace: ns, labels },
    spec: {
      type: 'ClusterIP',
      selector,
      ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
    },
  });

  const preStopSeconds = 5;
  const container: IContainer = {
    name: 'injector',
    image: opts.image,
    imagePullPolicy: 'IfNotPresent',
    args: [
      'injector',
      `--tls-cert=${TLS_MOUNT}/tls.crt`,
      `--tls-key=${TLS_MOUNT}/tls.key`,
      `--port=${INJECTOR_PORT}`,
      `--kube-version=${formatKubeVersion(opts.kubeVersion)}`,
    ],
    ports: [{ name: 'https', containerPort: INJECTOR_PORT, protocol: 'TCP' }],
    readinessProbe: {
      httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' },
      periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: 'https', scheme: 'HTTPS' },
      initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3,
    },
    // Keep serving while the Service endpoint removal propagates; the API server keeps calling
    // this pod until its endpoints update, and a refused call fails pod creation (failurePolicy Fail).
    lifecycle: {
      preStop: hasField(opts.kubeVersion, 'preStopSleepAction')
        ? { sleep: { seconds: preStopSeconds } }
        : { exec: { command: ['ebb', 'sleep', String(preStopSeconds)] } },
    },
    resources: {
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '1', memory: '256Mi' },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'tls', mountPath: TLS_MOUNT, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };

  objects.push({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: INJECTOR_NAME, namespace: ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: selector },
      // Never fewer ready replicas than asked for during a rollout: the API server depends on us.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels, annotations: { 'ebb.io/inject': 'disabled' } },
        spec: {
          serviceAccountName: INJECTOR_NAME,
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            runAsGroup: 65532,
            fsGroup: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
              ...(hasField(opts.kubeVersion, 'topologySpreadMatchLabelKeys') ? { matchLabelKeys: ['pod-template-hash'] } : {}),
            },
            {
              maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
              ...(hasField(opts.kubeVersion, 'topologySpreadMatchLabelKeys') ? { matchLabelKeys: ['pod-template-hash'] } : {}),
            },
          ],
          containers: [container],
          volumes: [
            { name: 'tls', secret: { secretName, defaultMode: 0o440 } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
          ],
        },
      },
    },
  });

  objects.push({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget',
    metadata: { name: INJECTOR_NAME, namespace: ns, labels },
    spec: {
      minAvailable: 1,
      selector: { matchLabels: selector },
      ...(hasField(opts.kubeVersion, 'pdbUnhealthyPodEvictionPolicy') ? { unhealthyPodEvictionPolicy: 'AlwaysAllow' } : {}),
    },
  });

  const caPem = opts.certs?.caCert ?? opts.caBundlePem;
  objects.push({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: {
      name: INJECTOR_NAME,
      labels,
      // With an existing Secret and no CA given, let cert-manager's CA injector fill caBundle
      // (it reads the Certificate of that name in our namespace).
      ...(caPem ? {} : { annotations: { 'cert-manager.io/inject-ca-from': `${ns}/${secretName}` } }),
    },
    webhooks: [{
      name: 'injector.ebb.io',
      admissionReviewVersions: ['v1'],
      clientConfig: {
        service: { name: INJECTOR_NAME, namespace: ns, path: WEBHOOK_PATH, port: 443 },
        ...(caPem ? { caBundle: b64(caPem) } : {}),
      },
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
      failurePolicy: opts.failurePolicy,
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: opts.timeoutSeconds,
      // Run again if a later webhook changed the pod (e.g. added a container we should know about).
      reinvocationPolicy: 'IfNeeded',
      namespaceSelector: {
        matchExpressions: [
          { key: INJECT_LABEL, operator: 'In', values: ['enabled'] },
          { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...EXCLUDED_NAMESPACES] },
          { key: WEBHOOK_OPT_OUT_LABEL, operator: 'NotIn', values: ['disabled'] },
        ],
      },
      // A pod labelled ebb.io/inject: disabled is never sent (the annotation works too, decided inside).
      objectSelector: {
        matchExpressions: [{ key: INJECT_LABEL, operator: 'NotIn', values: ['disabled'] }],
      },
    }],
  });

  return objects;
}

/**
 * What `ebb uninstall` prints: every object `ebb install` creates, as references `kubectl delete -f -`
 * takes, the webhook configuration first, so pod creation stops depending on the injector before
 * the injector goes away; the namespace last.
 */
export function renderUninstall(opts: { tlsSecret?: string }): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[] {
  const ns = INSTALL_NAMESPACE;
  return [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: INJECTOR_NAME } },
    { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: INJECTOR_NAME, namespace: ns } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: INJECTOR_NAME, namespace: ns } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: INJECTOR_NAME, namespace: ns } },
    // A --tls-secret Secret is the user's (cert-manager's): not ours to delete.
    ...(opts.tlsSecret ? [] : [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${INJECTOR_NAME}-tls`, namespace: ns } }]),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: INJECTOR_NAME } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: INJECTOR_NAME } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: INJECTOR_NAME, namespace: ns } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  ];
}
