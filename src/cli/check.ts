import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('lint manifests against the shutdown timing rules')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb check` is not implemented yet (issue 3)');
    });
}
