import { basename } from 'node:path';
import { Command, CommanderError } from 'commander';
import { EbbError, EXIT } from '../errors.js';
import { VERSION } from '../version.js';

interface CommandModule { register(program: Command): void }

// Command modules are loaded only when needed: `ebb proxy` must not pay, in memory and start-up
// time, for what other commands load (the Kubernetes client, YAML, TLS). Listed in help order.
const injectCmd = (): Promise<CommandModule> => import('./inject.js');
const installCmd = (): Promise<CommandModule> => import('./install.js');
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  proxy: () => import('./proxy.js'),
  inject: injectCmd,
  uninject: injectCmd,
  check: () => import('./check.js'),
  lab: () => import('./lab.js'),
  await: () => import('./await.js'),
  sleep: () => import('./sleep.js'),
  shutdown: () => import('./shutdown.js'),
  injector: () => import('./injector.js'),
  install: installCmd,
  uninstall: installCmd,
  init: () => import('./init.js'),
};

/**
 * Each command file registers itself; this file only wires them and maps errors to exit codes.
 * With `only` naming a known command, just that command is loaded; otherwise all are (help,
 * unknown commands).
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('ebb')
    .description('ebb: a sidecar proxy, injector and CLI so a pod leaves without losing a request')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const loaders = only !== undefined && Object.hasOwn(COMMANDS, only) ? [COMMANDS[only]!] : [...new Set(Object.values(COMMANDS))];
  for (const mod of await Promise.all(loaders.map((load) => load()))) mod.register(program);
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
    const program = await buildProgram(argv[2]);
    // Run by kubectl as a plugin (kubectl-ebb on PATH): usage lines say what the user typed.
    if (/^kubectl-ebb(\.js|\.cmd)?$/.test(basename(argv[1] ?? ''))) program.name('kubectl ebb');
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
