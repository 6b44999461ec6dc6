import type { Command } from 'commander';
import { EbbError } from '../errors.js';

export function register(program: Command): void {
  for (const name of ['inject', 'uninject']) {
    program
      .command(name)
      .description(name === 'inject' ? 'add the ebb proxy to Kubernetes manifests' : 'remove what `ebb inject` added')
      .allowUnknownOption()
      .action(() => {
        throw new EbbError('not_implemented', `\`ebb ${name}\` is not implemented yet (issue 3)`);
      });
  }
}
