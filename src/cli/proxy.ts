import { Option, type Command } from 'commander';
import { loadProxyConfig, PROXY_OPTIONS, type RawFlags } from '../config/proxy.js';
import { createLogger } from '../log.js';
import { startProxy } from '../proxy/index.js';

/** `ebb proxy`: parse and validate all config (exit 64 on any problem) before binding anything. */
export function register(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('run the sidecar proxy (inbound listener, admin server, graceful drain); see docs/proxy.md');
  for (const o of PROXY_OPTIONS) {
    const desc = `${o.description} [env ${o.env}${o.default !== undefined && o.default !== '' ? `, default ${o.default}` : ''}]`;
    if (o.arg === '') {
      cmd.addOption(new Option(`--${o.name} [bool]`, desc));
    } else if (o.repeatable) {
      cmd.addOption(new Option(`--${o.name} ${o.arg}`, desc).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]));
    } else {
      cmd.addOption(new Option(`--${o.name} ${o.arg}`, desc));
    }
  }
  cmd.action(async (flags: RawFlags) => {
    const config = loadProxyConfig(flags, process.env);
    const log = createLogger(config.logLevel, config.logFormat, 'ebb-proxy');
    // One signal handler, installed before anything is bound and kept for the process's life: a
    // TERM while the listeners are still starting (a pod deleted right after it started) starts a
    // graceful shutdown once they are up instead of killing the process; swapping handlers after
    // start-up lost a TERM sent right after the listening line.
    // TERM, INT and QUIT: QUIT is a common image STOPSIGNAL (nginx's graceful stop), and the runtime
    // sends the image's STOPSIGNAL, or lifecycle.stopSignal (KEP-4960), instead of TERM.
    const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
    let early: NodeJS.Signals | null = null;
    let running: Awaited<ReturnType<typeof startProxy>> | null = null;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (running) running.drain.trigger(sig);
      else early ??= sig;
    };
    for (const sig of signals) process.on(sig, onSignal);
    const proxy = await startProxy(config, log);
    running = proxy;
    if (early) proxy.drain.trigger(early);
    await proxy.drain.exited;
    proxy.close();
    // Exit now rather than when the event loop empties: a stray keep-alive socket or timer must
    // not keep a terminating pod around. Logs are written synchronously, so nothing is lost.
    process.exit(0);
  });
}
