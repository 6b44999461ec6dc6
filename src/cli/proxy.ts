import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('proxy')
    .description('run the sidecar proxy (inbound listener, admin server, graceful drain)')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb proxy` is not implemented yet (issue 2)');
    });
}
