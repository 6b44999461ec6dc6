import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('lab')
    .description('reproduce a pod termination under load on this machine and report lost requests')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', [
        '`ebb lab` cannot run yet. Missing:',
        '  - the lab itself: kubelet simulator, load generator, report (issue 4)',
      ].join('\n'));
    });
}
