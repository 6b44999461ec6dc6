import { Command, CommanderError } from 'commander';
import { EbbError, EXIT } from '../errors.js';
import { VERSION } from '../version.js';
import * as proxy from './proxy.js';
import * as inject from './inject.js';
import * as check from './check.js';
import * as lab from './lab.js';
import * as awaitCmd from './await.js';
import * as sleep from './sleep.js';
import * as injector from './injector.js';
import * as install from './install.js';
import * as init from './init.js';

/** Each command file registers itself; this file only wires them and maps errors to exit codes. */
export function buildProgram(): Command {
  const program = new Command('ebb')
    .description('ebb: a sidecar proxy, injector and CLI so a pod leaves without losing a request')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const cmd of [proxy, inject, check, lab, awaitCmd, sleep, injector, install, init]) cmd.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has already printed its message (or the help/version text).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof EbbError) {
    process.stderr.write(`ebb: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`ebb: internal error: ${e?.message ?? String(err)}\n` +
    (process.env.EBB_DEBUG ? `${e?.stack ?? ''}\n` : 'set EBB_DEBUG=1 for a stack trace, and please report this as a bug\n'));
  return EXIT.failure;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
