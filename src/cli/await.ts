import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { parseDuration, runAwait } from '../await/index.js';

interface AwaitFlags { port: string; timeout: string; timeoutFatal: boolean; shutdown?: boolean }

function parseBool(raw: string): boolean {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new UsageError(`await: --timeout-fatal takes true or false, not "${raw}"`);
}

/** Any value but "", "0" or "false" disables the wait, as LINKERD_AWAIT_DISABLED does. */
function envDisabled(v: string | undefined): boolean {
  return v !== undefined && v !== '' && !/^(0|false|no)$/i.test(v);
}

export function register(program: Command): void {
  program
    .command('await')
    .description('wait for the proxy to be ready, run a command, then shut the proxy down')
    .usage('[options] [-- CMD ARGS...]')
    .argument('[command...]', 'the command to run once the proxy is ready (put it after --)')
    .option('--port <port>', 'the proxy admin port', '4191')
    .option('--timeout <duration>', 'how long to wait for readiness: "2m", "30s", "90" (seconds)', '2m')
    .option('--timeout-fatal [bool]', 'on timeout, exit 69 (true) or run the command anyway (false)', parseBool, true)
    .option('--shutdown', 'POST /shutdown to the proxy when the command has ended')
    .addHelpText('after', '\nEnvironment:\n  EBB_AWAIT_DISABLED=true  skip the readiness wait (--shutdown still happens)\n')
    .action(async (command: string[], flags: AwaitFlags) => {
      const port = Number(flags.port);
      if (!/^\d+$/.test(flags.port) || port < 1 || port > 65535) {
        throw new UsageError(`await: --port must be a port number 1-65535, not "${flags.port}"`);
      }
      const timeoutMs = parseDuration(flags.timeout);
      if (timeoutMs === undefined) {
        throw new UsageError(`await: --timeout "${flags.timeout}" is not a duration; use e.g. 2m, 30s or 90 (seconds)`);
      }
      process.exitCode = await runAwait({
        host: '127.0.0.1',
        port,
        timeoutMs,
        timeoutFatal: flags.timeoutFatal,
        shutdown: flags.shutdown === true,
        command,
        readinessDisabled: envDisabled(process.env.EBB_AWAIT_DISABLED),
      });
    });
}
