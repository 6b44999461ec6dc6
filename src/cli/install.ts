import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Document, isPair, isScalar, visit } from 'yaml';
import { ConfigError } from '../errors.js';
import { VERSION } from '../version.js';
import { generateWebhookCertificates } from '../install/certs.js';
import {
  DEFAULT_KUBE_VERSION, MIN_KUBE_VERSION, atLeast, formatKubeVersion, parseKubeVersion,
} from '../kube-version.js';
import { INJECT_LABEL, INJECTOR_NAME, INSTALL_NAMESPACE, renderInstall, renderUninstall, type FailurePolicy } from '../install/manifests.js';

interface InstallFlags {
  failurePolicy: string;
  tlsSecret?: string;
  caBundle?: string;
  kubeVersion: string;
  image: string;
  timeoutSeconds: string;
  certValidityDays: string;
  output: string;
  uninstall?: boolean;
}

const UNINSTALL_NOTE = [
  '# ebb uninstall: everything `ebb install` created; apply with `ebb uninstall | kubectl delete -f -`.',
  '# The webhook configuration goes first, so pod creation stops depending on the injector at once.',
  `# Pods already injected keep their proxy until they are re-created; \`kubectl label namespace --all ${INJECT_LABEL}-\``,
  '# removes the namespaces\' opt-in labels.',
].join('\n');

function printUninstall(flags: Pick<InstallFlags, 'tlsSecret' | 'output'>): void {
  if (flags.output !== 'yaml' && flags.output !== 'json') throw new ConfigError([`-o: "${flags.output}" is not yaml or json`]);
  const objects = renderUninstall({ tlsSecret: flags.tlsSecret });
  if (flags.output === 'json') process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
  else process.stdout.write(`${UNINSTALL_NOTE}\n${objects.map(installYaml).join('---\n')}`);
}

/** `Fail`/`Ignore` in any case (the API server wants them capitalised). */
export function parseFailurePolicy(raw: string): FailurePolicy | undefined {
  const v = raw.trim().toLowerCase();
  return v === 'fail' ? 'Fail' : v === 'ignore' ? 'Ignore' : undefined;
}

/** `ebb install`: prints the injector's manifests to stdout, for `ebb install | kubectl apply -f -`. */
export function register(program: Command): void {
  registerUninstall(program);
  program
    .command('install')
    .description('print the manifests that run the injector (admission webhook) in a cluster')
    .option('--failure-policy <policy>', 'what the API server does when the webhook is unreachable: Fail or Ignore (any case); only namespaces labelled ebb.io/inject=enabled are ever sent to it', 'Fail')
    .option('--tls-secret <name>', `use this existing kubernetes.io/tls Secret in ${INSTALL_NAMESPACE} (e.g. from cert-manager) instead of generating a certificate`)
    .option('--ca-bundle <file>', 'with --tls-secret: PEM CA for the webhook caBundle (default: cert-manager CA injection)')
    .option('--kube-version <version>', `target Kubernetes version (>= ${formatKubeVersion(MIN_KUBE_VERSION)})`, formatKubeVersion(DEFAULT_KUBE_VERSION))
    .option('--image <ref>', 'injector image', `ebb:${VERSION}`)
    .option('--timeout-seconds <n>', 'webhook timeoutSeconds (1-30)', '10')
    .option('--cert-validity-days <n>', 'validity of the generated CA and serving certificate', '3650')
    .option('-o, --output <format>', 'yaml or json (a v1 List)', 'yaml')
    .option('--uninstall', 'print what removes everything ebb install creates instead (for `kubectl delete -f -`); the same as `ebb uninstall`')
    .action(async (flags: InstallFlags) => {
      if (flags.uninstall) { printUninstall(flags); return; }
      const problems: string[] = [];
      const failurePolicy = parseFailurePolicy(flags.failurePolicy) ?? 'Fail';
      if (!parseFailurePolicy(flags.failurePolicy)) problems.push(`--failure-policy: "${flags.failurePolicy}" is not Fail or Ignore`);
      const kubeVersion = parseKubeVersion(flags.kubeVersion);
      if (!kubeVersion) problems.push(`--kube-version: "${flags.kubeVersion}" is not a version like 1.31`);
      else if (!atLeast(kubeVersion, MIN_KUBE_VERSION.major, MIN_KUBE_VERSION.minor)) {
        problems.push(`--kube-version: ${formatKubeVersion(kubeVersion)} is older than the oldest supported, ${formatKubeVersion(MIN_KUBE_VERSION)}`);
      }
      const timeoutSeconds = Number(flags.timeoutSeconds);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
        problems.push(`--timeout-seconds: "${flags.timeoutSeconds}" is not a whole number from 1 to 30`);
      }
      const validityDays = Number(flags.certValidityDays);
      if (!Number.isInteger(validityDays) || validityDays < 1) problems.push(`--cert-validity-days: "${flags.certValidityDays}" is not a whole number >= 1`);
      if (flags.tlsSecret !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(flags.tlsSecret)) {
        problems.push(`--tls-secret: "${flags.tlsSecret}" is not a valid Secret name`);
      }
      if (flags.caBundle !== undefined && flags.tlsSecret === undefined) problems.push('--ca-bundle only makes sense with --tls-secret');
      let caBundlePem: string | undefined;
      if (flags.caBundle !== undefined) {
        try {
          caBundlePem = readFileSync(flags.caBundle, 'utf8');
          if (!caBundlePem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`--ca-bundle: ${flags.caBundle} holds no PEM certificate`);
        } catch (err) {
          problems.push(`--ca-bundle: cannot read ${flags.caBundle} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
      if (flags.output !== 'yaml' && flags.output !== 'json') problems.push(`-o: "${flags.output}" is not yaml or json`);
      if (problems.length > 0) throw new ConfigError(problems);

      const certs = flags.tlsSecret
        ? undefined
        : await generateWebhookCertificates({ service: INJECTOR_NAME, namespace: INSTALL_NAMESPACE, validityDays });
      const objects = renderInstall({
        version: VERSION, image: flags.image, kubeVersion: kubeVersion!, failurePolicy, timeoutSeconds,
        tlsSecret: flags.tlsSecret, certs, caBundlePem,
      });
      if (flags.output === 'json') {
        process.stdout.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
      } else {
        process.stdout.write(objects.map(installYaml).join('---\n'));
      }
    });
}

/** `ebb uninstall`: what `ebb install --uninstall` prints. */
export function registerUninstall(program: Command): void {
  program
    .command('uninstall')
    .description('print what removes everything `ebb install` creates, for `ebb uninstall | kubectl delete -f -`')
    .option('--tls-secret <name>', 'the install used this existing Secret: leave it alone')
    .option('-o, --output <format>', 'yaml or json (a v1 List)', 'yaml')
    .action((flags: Pick<InstallFlags, 'tlsSecret' | 'output'>) => printUninstall(flags));
}

/**
 * One object as YAML for people to read and kubectl to apply: no anchors/aliases for repeated
 * objects (the same labels in metadata and selector are written out twice, as everyone writes
 * them), and file modes as the decimal the API stores with the octal people know in a comment
 * (`defaultMode: 288 # 0440`). A bare 0440 would be octal to YAML 1.1 readers (kubectl) but decimal
 * 440 to YAML 1.2 ones.
 */
export function installYaml(object: unknown): string {
  const doc = new Document(object, { aliasDuplicateObjects: false });
  visit(doc, {
    Pair(_key, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !isScalar(pair.value)) return;
      if ((pair.key.value === 'defaultMode' || pair.key.value === 'mode') && typeof pair.value.value === 'number') {
        pair.value.comment = ` 0${pair.value.value.toString(8)}`;
      }
    },
  });
  return doc.toString({ lineWidth: 0 });
}
