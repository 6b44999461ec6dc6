import type { Command } from 'commander';
import { inject, uninject } from '../inject/index.js';
import { reportLines } from '../inject/render.js';
import { withServiceFindings } from '../inject/services.js';
import { withPodSecurityFindings } from '../inject/pod-security.js';
import type { InjectConfig } from '../inject/types.js';
import type { ManifestDoc } from '../manifests/read.js';
import { isList, render, transformDoc, type OutputFormat } from '../manifests/transform.js';
import { EXIT } from '../errors.js';
import { addManifestOptions, addSettingOptions, configFromOptions, manifestDocs, outputFormat } from './inject-options.js';

/** The resources of a document's value, one per report transformDoc made (List items one by one). */
export function itemsOf(value: unknown): unknown[] {
  if (value === null) return [];
  return isList(value) ? value.items : [value];
}

export interface RunOutput { stdout: string; stderr: string; exitCode: number }

/**
 * The whole of `ebb inject`/`ebb uninject` after parsing: manifests in, text out. A refused
 * resource means nothing is written at all (so `… | kubectl apply -f -` applies nothing
 * half-done) and exit 1.
 */
export function runTransform(docs: readonly ManifestDoc[], config: InjectConfig | null, opts: { format: OutputFormat; verbose: boolean }): RunOutput {
  const fn = config ? (o: unknown) => inject(o, config) : (o: unknown) => uninject(o);
  const results = docs.map((d) => transformDoc(d, fn));
  // Services in the same input that route around a non-transparent proxy (inject only).
  // and workloads whose ebb-init a Namespace's Pod Security level forbids.
  const outputs = results.flatMap((r) => itemsOf(r.value));
  const reports = config ? withPodSecurityFindings(withServiceFindings(results.flatMap((r) => r.reports), outputs), outputs, { transparent: config.transparent }) : results.flatMap((r) => r.reports);
  const refused = reports.filter((r) => r.status === 'refused').length;
  const lines = reports.flatMap((r) => reportLines(r, { verbose: opts.verbose }));
  if (refused) lines.push(`nothing written: ${refused} resource${refused === 1 ? '' : 's'} refused`);
  return {
    stdout: refused ? '' : render(results, opts.format),
    stderr: lines.length ? lines.join('\n') + '\n' : '',
    exitCode: refused ? EXIT.failure : EXIT.ok,
  };
}

export function register(program: Command): void {
  for (const name of ['inject', 'uninject'] as const) {
    const cmd = program
      .command(name)
      .description(name === 'inject' ? 'add the ebb proxy to Kubernetes manifests' : 'remove what `ebb inject` added')
      .option('-o, --output <format>', 'output format: yaml or json', 'yaml')
      .option('-v, --verbose', 'also report the rules that passed (√)', false);
    addManifestOptions(cmd);
    if (name === 'inject') addSettingOptions(cmd);
    cmd.action((args: string[], opts: Record<string, unknown>) => {
      const format = outputFormat(opts.output);
      const config = name === 'inject' ? configFromOptions(opts, 'ebb inject') : null;
      const out = runTransform(manifestDocs(args, opts, name), config, { format, verbose: Boolean(opts.verbose) });
      process.stdout.write(out.stdout);
      process.stderr.write(out.stderr);
      process.exitCode = out.exitCode;
    });
  }
}
