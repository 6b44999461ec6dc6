/**
 * Text renderings of reports: the CLI's stderr lines, `ebb check`'s findings, and the one-line
 * warnings the webhook returns to kubectl. All of them come from the report data and messages.ts.
 */
import { findingFix, findingSentence, passSentence, reasonSentence, resourceLabel } from './messages.js';
import type { Finding, ResourceReport } from './types.js';

const VERB: Record<ResourceReport['status'], string> = {
  injected: 'injected',
  uninjected: 'uninjected',
  annotated: 'annotated',
  unchanged: 'unchanged',
  skipped: 'skipped',
  refused: 'refused',
};

export function statusLine(r: ResourceReport): string {
  let line = `${resourceLabel(r)} ${VERB[r.status]}`;
  if (r.status === 'injected' && r.reinjected) line += ' (was already injected: re-injected)';
  if (r.reason) line += `: ${reasonSentence(r.reason, r.reasonParams)} [${r.reason}]`;
  return line;
}

export function findingLine(f: Finding): string {
  const mark = f.severity === 'info' ? '·' : '‼';
  return `${mark} ${f.code}: ${findingSentence(f)}`;
}

/** The report `ebb inject`/`uninject` print on stderr: one line per resource, ‼ warnings, √ passes with verbose. */
export function reportLines(r: ResourceReport, opts: { verbose?: boolean } = {}): string[] {
  const lines = [statusLine(r)];
  for (const f of r.findings) lines.push(`  ${findingLine(f)}`);
  if (opts.verbose) for (const p of r.passes) lines.push(`  √ ${passSentence(p)}`);
  return lines;
}

/** Admission warnings for the webhook: one line per warning/error finding, with its code. */
export function admissionWarnings(r: ResourceReport): string[] {
  return r.findings.filter((f) => f.severity !== 'info').map((f) => `ebb ${f.code}: ${findingSentence(f)}`);
}

/** `ebb check` lines for one finding: severity, code, sentence, then the fix. */
export function checkFindingLines(f: Finding): string[] {
  const sev = f.severity === 'error' ? '‼ error  ' : f.severity === 'warning' ? '‼ warning' : '· info   ';
  return [`  ${sev} ${f.code}: ${findingSentence(f)}`, `              fix: ${findingFix(f)}`];
}
