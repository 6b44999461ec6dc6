import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  program
    .command('install')
    .description('print the manifests that run the injector in a cluster')
    .allowUnknownOption()
    .action(() => {
      throw new EbbError('not_implemented', '`ebb install` is not implemented yet (issue 6)');
    });
}
