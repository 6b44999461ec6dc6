import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('init')
    .description('set up the pod network namespace for transparent interception (iptables)')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb init` is not implemented yet (issue 7)');
    });
}
