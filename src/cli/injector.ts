import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('injector')
    .description('run the mutating admission webhook (HTTPS)')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb injector` is not implemented yet (issue 6)');
    });
}
