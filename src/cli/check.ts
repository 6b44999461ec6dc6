import type { Command } from 'commander';
import { check, injectObject } from '../inject/index.js';
import { withServiceFindings } from '../inject/services.js';
import { withPodSecurityFindings } from '../inject/pod-security.js';
import { findingFix, findingSentence, passSentence, reasonSentence, resourceLabel } from '../inject/messages.js';
import { checkFindingLines } from '../inject/render.js';
import { timelineLines } from '../inject/timeline.js';
import { MESH_NAMES } from '../inject/meshes.js';
import type { ResourceReport } from '../inject/types.js';
import { isList } from '../manifests/transform.js';
import { EXIT, UsageError } from '../errors.js';
import type { InjectConfig } from '../inject/types.js';
import type { ManifestDoc } from '../manifests/read.js';
import { addManifestOptions, addSettingOptions, configFromOptions, manifestDocs } from './inject-options.js';

function hasError(r: ResourceReport): boolean {
  return r.status === 'refused' || r.findings.some((f) => f.severity === 'error');
}

function header(r: ResourceReport): string {
  const t = r.timing;
  if (!t) return `${resourceLabel(r)} ${r.status}${r.reason ? `: ${reasonSentence(r.reason, r.reasonParams)} [${r.reason}]` : ''}`;
  const mode = t.mode === 'none' ? 'no proxy' : `${t.mesh ? `${MESH_NAMES[t.mesh]} ` : ''}${t.mode} sidecar`;
  if (t.graceOverridden) return `${resourceLabel(r)} (${mode}, deleted with --grace-period ${t.graceSeconds})`;
  return `${resourceLabel(r)} (${mode}, terminationGracePeriodSeconds ${t.graceSeconds}${t.graceDefaulted ? ' by default' : ''})`;
}

function textReport(r: ResourceReport, verbose: boolean): string[] {
  const lines = [header(r)];
  if (!r.timing) {
    for (const f of r.findings) lines.push(...checkFindingLines(f));
    return lines;
  }
  for (const f of r.findings) lines.push(...checkFindingLines(f));
  if (!r.findings.some((f) => f.severity !== 'info')) lines.push('  √ every timing rule holds');
  if (verbose) for (const p of r.passes) lines.push(`  √ ${passSentence(p)}`);
  lines.push('  termination timeline (pod deleted at 0s):', ...timelineLines(r.timing).map((l) => `  ${l}`));
  return lines;
}

function jsonReport(r: ResourceReport, file: string): unknown {
  return {
    file,
    kind: r.kind,
    name: r.name,
    ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
    status: r.status,
    ...(r.reason ? { reason: r.reason, reasonMessage: reasonSentence(r.reason, r.reasonParams) } : {}),
    findings: r.findings.map((f) => ({ code: f.code, severity: f.severity, ...(f.container ? { container: f.container } : {}), message: findingSentence(f), fix: findingFix(f), params: f.params })),
    passes: r.passes.map((p) => ({ code: p.code, ...(p.container ? { container: p.container } : {}), message: passSentence(p) })),
    ...(r.timing ? { timing: r.timing } : {}),
  };
}

/** `ebb check PATH…`: the timing rules and injection sanity as a lint. Changes nothing; exit 1 on error-level findings. */
export function register(program: Command): void {
  const cmd = program
    .command('check')
    .description('lint manifests against the shutdown timing rules (injected or not yet injected)')
    .option('-o, --output <format>', 'output format: text or json', 'text')
    .option('-v, --verbose', 'also list the rules that passed (√)', false)
    .option('--grace-period <seconds>', 'check a deletion with this grace period instead of terminationGracePeriodSeconds (kubectl delete --grace-period, an eviction\'s or a node shutdown\'s)');
  addManifestOptions(cmd);
  addSettingOptions(cmd);
  cmd.action((args: string[], opts: Record<string, unknown>) => {
    const json = opts.output === 'json';
    if (!json && opts.output !== 'text') throw new UsageError(`-o/--output must be text or json, not "${String(opts.output)}"`);
    const grace = opts.gracePeriod === undefined ? undefined : parseGracePeriod(String(opts.gracePeriod), 'ebb check');
    const config = configFromOptions(opts, 'ebb check');
    const out = runCheck(manifestDocs(args, opts, 'check'), config, { json, verbose: Boolean(opts.verbose), ...(grace === undefined ? {} : { graceSeconds: grace }) });
    process.stdout.write(out.stdout);
    process.exitCode = out.exitCode;
  });
}

/** The whole of `ebb check` after parsing. */
/** `--grace-period S` (check and lab): whole seconds >= 0, as the API takes a deletion's gracePeriodSeconds. */
export function parseGracePeriod(raw: string, who: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${who}: --grace-period "${raw}" must be whole seconds >= 0 (as kubectl delete --grace-period takes them)`);
  return n;
}

export function runCheck(docs: readonly ManifestDoc[], config: InjectConfig, opts: { json: boolean; verbose: boolean; graceSeconds?: number }): { stdout: string; exitCode: number } {
  const results: { file: string; report: ResourceReport }[] = [];
  const items: unknown[] = [];
  for (const d of docs) {
    if (d.value === null) continue;
    for (const item of isList(d.value) ? d.value.items : [d.value]) {
      items.push(item);
      results.push({ file: d.source.name, report: check(item, config, opts.graceSeconds === undefined ? {} : { graceSeconds: opts.graceSeconds }) });
    }
  }
  // Services judged against the workloads as they run: as written when injected, else as inject would write them.
  const effective = items.map((item, i) => (results[i]!.report.reason === 'not_injected' ? injectObject(item, config).object : item));
  withPodSecurityFindings(withServiceFindings(results.map((r) => r.report), effective), effective).forEach((report, i) => { results[i] = { ...results[i]!, report }; });
  const errors = results.filter((r) => hasError(r.report)).length;
  let stdout: string;
  if (opts.json) {
    stdout = JSON.stringify(results.map((r) => jsonReport(r.report, r.file)), null, 2) + '\n';
  } else {
    const count = (sev: string): number => results.reduce((n, r) => n + r.report.findings.filter((f) => f.severity === sev).length, 0);
    const out = results.flatMap((r) => [...textReport(r.report, opts.verbose), '']);
    const refused = results.filter((r) => r.report.status === 'refused').length;
    out.push(`${results.length} resource(s) checked: ${count('error')} error(s), ${count('warning')} warning(s)${refused ? `, ${refused} refused (not checked)` : ''}`);
    stdout = out.join('\n') + '\n';
  }
  return { stdout, exitCode: errors ? EXIT.failure : EXIT.ok };
}
