import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('await')
    .description('wait for the proxy to be ready, run a command, then shut the proxy down')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb await` is not implemented yet (issue 5)');
    });
}
