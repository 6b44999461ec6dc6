import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { createLogger, LOG_LEVELS, type LogFormat } from '../log.js';
import { VERSION } from '../version.js';
import { SETTINGS, resolveInjectConfig } from '../inject/index.js';
import { SETTING_HELP } from '../inject/config.js';
import { AdmissionServer, DEFAULT_MAX_BODY_BYTES } from '../webhook/server.js';
import { createInjectorHandler } from '../webhook/injector.js';
import { createWebhookMetrics } from '../webhook/metrics.js';
import { loadTlsPair } from '../webhook/tls.js';
import {
  CachedNamespaceReader, kubeNamespaceFetcher, resolveKubeConfig, type NamespaceReader,
} from '../webhook/namespaces.js';
import type { LevelWithSilent } from 'pino';

interface InjectorFlags {
  tlsCert?: string;
  tlsKey?: string;
  port: string;
  host: string;
  maxBodyBytes: string;
  kubeconfig?: string;
  namespaceCacheSeconds: string;
  namespaceTimeoutSeconds: string;
  logLevel: string;
  logFormat: string;
  [setting: string]: string | undefined;
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function wholeNumber(raw: string, name: string, min: number, max: number, problems: string[]): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}: "${raw}" is not a whole number from ${min} to ${max}`);
    return min;
  }
  return n;
}

/** `ebb injector`: the mutating admission webhook. Everything is validated before the port is bound. */
export function register(program: Command): void {
  const cmd = program
    .command('injector')
    .description('run the mutating admission webhook (HTTPS) that injects the ebb proxy into pods')
    .option('--tls-cert <file>', 'PEM serving certificate (reloaded when the file changes)')
    .option('--tls-key <file>', 'PEM private key of the serving certificate (reloaded when the file changes)')
    .option('--port <n>', 'HTTPS port', '8443')
    .option('--host <addr>', 'address to listen on', '0.0.0.0')
    .option('--max-body-bytes <n>', 'largest AdmissionReview accepted', String(DEFAULT_MAX_BODY_BYTES))
    .option('--kubeconfig <file>', 'kubeconfig for namespace reads (default: KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace-cache-seconds <n>', 'how long a namespace\'s annotations are reused', '30')
    .option('--namespace-timeout-seconds <n>', 'how long one namespace read may take', '2')
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .option('--log-format <format>', 'json or pretty', 'json');
  // The proxy settings are the same flags as `ebb inject`'s, from the same table.
  for (const s of SETTINGS) cmd.option(`--${s.flag} <value>`, `proxy setting, as \`ebb inject --${s.flag}\`: ${SETTING_HELP[s.flag] ?? ''}`);
  cmd.action(async (flags: InjectorFlags) => {
    const problems: string[] = [];
    if (!flags.tlsCert) problems.push('--tls-cert is required');
    if (!flags.tlsKey) problems.push('--tls-key is required');
    if (flags.tlsCert && flags.tlsKey) {
      try { loadTlsPair(flags.tlsCert, flags.tlsKey); } catch (err) { problems.push((err as Error).message); }
    }
    const port = wholeNumber(flags.port, '--port', 0, 65535, problems);
    const maxBodyBytes = wholeNumber(flags.maxBodyBytes, '--max-body-bytes', 1024, 64 * 1024 * 1024, problems);
    const cacheSeconds = wholeNumber(flags.namespaceCacheSeconds, '--namespace-cache-seconds', 0, 86_400, problems);
    const timeoutSeconds = wholeNumber(flags.namespaceTimeoutSeconds, '--namespace-timeout-seconds', 1, 25, problems);
    if (!LOG_LEVELS.includes(flags.logLevel as LevelWithSilent)) problems.push(`--log-level: "${flags.logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
    if (flags.logFormat !== 'json' && flags.logFormat !== 'pretty') problems.push(`--log-format: "${flags.logFormat}" is not json or pretty`);
    if (flags.kubeconfig && !existsSync(flags.kubeconfig)) problems.push(`--kubeconfig: ${flags.kubeconfig} does not exist`);
    const raw: Record<string, string | undefined> = {};
    for (const s of SETTINGS) raw[s.flag] = flags[camel(s.flag)];
    const { config, problems: settingProblems } = resolveInjectConfig(raw, { injectedBy: `ebb injector ${VERSION}` });
    for (const p of settingProblems) problems.push(`--${p.flag}: "${p.value}" ${p.problem}`);
    // No kubeconfig at all is a start-up problem like the others (exit 64, nothing bound). One that
    // loads but whose API cannot be reached is not: pods are then decided by their own
    // annotations, and each response says so.
    let kube: ReturnType<typeof resolveKubeConfig> | undefined;
    if (!flags.kubeconfig || existsSync(flags.kubeconfig)) {
      try {
        kube = resolveKubeConfig(flags.kubeconfig);
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.problems);
        else problems.push(`kubeconfig ${flags.kubeconfig ?? ''}: ${(err as Error).message}`.replace('  ', ' '));
      }
    }
    if (problems.length > 0 || kube === undefined) throw new ConfigError(problems);

    const log = createLogger(flags.logLevel as LevelWithSilent, flags.logFormat as LogFormat, 'ebb-injector');
    const metrics = createWebhookMetrics();
    const { kc, from } = kube;
    const namespaces: NamespaceReader = new CachedNamespaceReader(kubeNamespaceFetcher(kc), {
      ttlMs: cacheSeconds * 1000,
      timeoutMs: timeoutSeconds * 1000,
      onLookup: (result) => metrics.namespaceLookups.inc({ result }),
    });
    log.info({ server: kc.getCurrentCluster()?.server, from }, 'namespace annotations read through the Kubernetes API');

    const server = new AdmissionServer({
      handler: createInjectorHandler({ config, namespaces, log }),
      tlsCert: flags.tlsCert!,
      tlsKey: flags.tlsKey!,
      port,
      host: flags.host,
      maxBodyBytes,
      logger: log,
      metrics,
    });
    // Signal handlers go in before the "listening" line: whoever reads that line may signal at once.
    let stopping: NodeJS.Signals | undefined;
    let wake: () => void = () => {};
    const stopped = new Promise<void>((resolve) => { wake = resolve; });
    const stop = (signal: NodeJS.Signals): void => { stopping ??= signal; wake(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);

    const bound = await server.listen();
    log.info({ port: bound, path: '/inject', version: VERSION, mode: config.mode, proxyImage: config.proxyImage, kubeVersion: config.kubeVersion }, 'listening');
    await stopped;
    log.info({ signal: stopping }, 'shutting down');
    await server.close();
  });
}
