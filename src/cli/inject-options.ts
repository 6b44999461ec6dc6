/** Flags shared by `ebb inject` and `ebb check`: manifest paths, output format, and every inject setting. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { resolveInjectConfig, SETTINGS, SETTING_HELP } from '../inject/config.js';
import type { InjectConfig } from '../inject/types.js';
import { parseSource, readSources, type ManifestDoc } from '../manifests/read.js';
import { VERSION } from '../version.js';

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function addManifestOptions(cmd: Command): Command {
  return cmd
    .argument('[paths...]', 'files, directories (recursive: .yaml, .yml, .json) or - for stdin')
    .option('-f, --filename <path>', 'a file, directory or - (repeatable; same as a PATH argument)', collect, [] as string[]);
}

export function addSettingOptions(cmd: Command): Command {
  // A setting without help text is caught by test/cli/help-describes-every-flag-of-every-command.test.ts.
  for (const s of SETTINGS) cmd.option(`--${s.flag} <value>`, SETTING_HELP[s.flag] ?? '');
  return cmd;
}

export function outputFormat(raw: unknown): 'yaml' | 'json' {
  const v = raw === undefined ? 'yaml' : String(raw);
  if (v !== 'yaml' && v !== 'json') throw new UsageError(`-o/--output must be yaml or json, not "${v}"`);
  return v;
}

/** Validates every setting flag at once; all problems in one usage error (exit 2). */
export function configFromOptions(opts: Record<string, unknown>, injectedBy: string): InjectConfig {
  const raw: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = opts[camel(s.flag)];
    if (v !== undefined) raw[s.flag] = String(v);
  }
  const { config, problems } = resolveInjectConfig(raw, { injectedBy: `${injectedBy} ${VERSION}` });
  if (problems.length) {
    throw new UsageError(problems.map((p) => `--${p.flag} ${JSON.stringify(p.value)}: ${p.problem}`).join('\n     '));
  }
  return config;
}

/** The manifests named by PATH arguments and -f; `command` ("inject", "check", …) words the no-input hint. */
export function manifestDocs(args: readonly string[], opts: Record<string, unknown>, command = 'inject'): ManifestDoc[] {
  const paths = [...args, ...((opts.filename as string[] | undefined) ?? [])];
  if (paths.length === 0) {
    const hint = command === 'check'
      ? '`ebb check -f app.yaml`, `ebb check k8s/`, or `kubectl get deploy,sts,ds,job,cronjob -A -o yaml | ebb check -`'
      : `\`ebb ${command} -f app.yaml\`, or \`kubectl get deploy web -o yaml | ebb ${command} -\``;
    throw new UsageError(`no input: give files, directories, or - to read stdin (e.g. ${hint})`);
  }
  const sources = readSources(paths, () => readFileSync(0, 'utf8'));
  return sources.flatMap((s) => parseSource(s));
}
