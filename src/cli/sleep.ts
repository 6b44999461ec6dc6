import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/**
 * `ebb sleep N`: a preStop sleep for the distroless proxy image, which has no /bin/sleep.
 * It ignores TERM on purpose: the kubelet never signals a hook's process, but a stray TERM to the
 * process group must not cut the wait short either.
 */
export function register(program: Command): void {
  program
    .command('sleep')
    .description('sleep N seconds (a preStop hook for images without /bin/sleep)')
    .argument('<seconds>', 'whole or fractional seconds, >= 0')
    .action(async (raw: string) => {
      const seconds = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
        throw new UsageError(`sleep: "${raw}" is not a number of seconds; give a value >= 0, e.g. \`ebb sleep 5\``);
      }
      process.on('SIGTERM', () => {});
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    });
}
