import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { EbbError } from '../errors.js';
import type { Family, InitOptions } from './options.js';
import { missingJumps, restoreDocument } from './rules.js';

export interface ToolResult { code: number | null; stdout: string; stderr: string }

/** Runs one iptables tool; `undefined` when it is not installed (ENOENT). Replaceable in tests. */
export type ToolRunner = (cmd: string, args: string[], input?: string) => Promise<ToolResult | undefined>;

export const runTool: ToolRunner = (cmd, args, input) => new Promise((resolve, reject) => {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') resolve(undefined);
    else reject(err);
  });
  child.on('close', (code) => resolve({ code, stdout, stderr }));
  // A tool that dies before reading stdin would otherwise raise EPIPE here; its exit code tells the story.
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? '');
});

export interface FamilyResult {
  family: Family;
  /** 'applied', or 'skipped' (IPv6 in auto mode when the host cannot do IPv6 nat). */
  outcome: 'applied' | 'skipped';
  document?: string;
  /** The jump rules this run added (empty on a re-run: they were already there). */
  addedJumps?: string[];
  reason?: string;
}

const TOOLS: Record<Family, { save: string; restore: string }> = {
  4: { save: 'iptables-save', restore: 'iptables-restore' },
  6: { save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

/** "where" for error messages: the network namespace and user this process runs in. */
function where(): string {
  let ns = 'unknown';
  try { ns = readlinkSync('/proc/self/ns/net'); } catch { /* not Linux, or no /proc */ }
  return `network namespace ${ns}, uid ${process.getuid?.() ?? '?'}`;
}

function firstLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(0, n).join(' / ') || '(no output)';
}

function missingTool(tool: string): EbbError {
  return new EbbError('iptables_missing',
    `${tool} was not found on PATH (${where()}). ebb init needs iptables to install the nat rules. ` +
    'Install it (Debian/Ubuntu: apt-get install iptables; Alpine: apk add iptables) or run ebb init from the ebb image, ' +
    'which contains it. `ebb init --dry-run` prints the rules without applying them.');
}

function toolFailed(tool: string, family: Family, r: ToolResult): EbbError {
  if (/permission denied|must be root|operation not permitted/i.test(r.stderr)) {
    return new EbbError('iptables_permission',
      `${tool} was denied changing the IPv${family} nat table (${where()}): ${firstLines(r.stderr)}. ` +
      'ebb init needs CAP_NET_ADMIN and CAP_NET_RAW in the pod\'s network namespace: run it as root, or as the ebb-init ' +
      'init container with securityContext.capabilities.add [NET_ADMIN, NET_RAW] (what `ebb inject` writes).');
  }
  return new EbbError('iptables_failed',
    `${tool} failed with exit code ${r.code} for the IPv${family} nat table (${where()}): ${firstLines(r.stderr, 5)}. ` +
    'Nothing was changed (the rules are applied as one transaction). `ebb init --dry-run` prints the document it was given; ' +
    'check that the kernel has the nat table, and the REDIRECT and owner matches (modules iptable_nat, xt_REDIRECT, xt_owner, or nf_tables).');
}

/** Applies the rules of one family atomically; re-running it leaves the same rule set. */
export async function applyFamily(opts: InitOptions, family: Family, run: ToolRunner = runTool): Promise<FamilyResult> {
  const { save, restore } = TOOLS[family];
  const optional = family === 6 && opts.ipv6 === 'auto';
  const saved = await run(save, ['-t', 'nat']);
  if (saved === undefined) {
    if (optional) return { family, outcome: 'skipped', reason: `${save} is not installed` };
    throw missingTool(save);
  }
  if (saved.code !== 0) {
    if (optional && !/permission denied|must be root|operation not permitted/i.test(saved.stderr)) {
      return { family, outcome: 'skipped', reason: `${save} cannot read the IPv6 nat table: ${firstLines(saved.stderr, 1)}` };
    }
    throw toolFailed(save, family, saved);
  }
  const addedJumps = missingJumps(saved.stdout);
  const document = restoreDocument(opts, family, addedJumps);
  const restored = await run(restore, ['--noflush'], document);
  if (restored === undefined) throw missingTool(restore);
  if (restored.code !== 0) throw toolFailed(restore, family, restored);
  return { family, outcome: 'applied', document, addedJumps };
}

export async function applyRules(opts: InitOptions, run: ToolRunner = runTool): Promise<FamilyResult[]> {
  const results = [await applyFamily(opts, 4, run)];
  if (opts.ipv6 !== 'off') results.push(await applyFamily(opts, 6, run));
  return results;
}
