import type { Command } from 'commander';
import { applyRules } from '../init/apply.js';
import { INIT_ENV, resolveInitOptions, type RawInitOptions } from '../init/options.js';
import { restoreDocument } from '../init/rules.js';

interface InitFlags extends RawInitOptions { dryRun?: boolean }

/**
 * `ebb init`: installs the nat rules that send the pod's TCP through the proxy (docs/init.md).
 * Runs once per pod as the `ebb-init` init container; needs NET_ADMIN and NET_RAW.
 */
export function register(program: Command): void {
  program
    .command('init')
    .description('set up the pod network namespace for transparent interception (iptables)')
    .option('--inbound-port <port>', 'the proxy\'s inbound listener (env EBB_INBOUND_PORT, default 4143)')
    .option('--outbound-port <port>', 'the proxy\'s outbound listener (env EBB_OUTBOUND_PORT, default 4140)')
    .option('--admin-port <port>', 'the proxy\'s admin port, never redirected (env EBB_ADMIN_PORT, default 4191)')
    .option('--proxy-uid <uid>', 'the uid the proxy runs as; its traffic is not redirected (env EBB_PROXY_UID, default 2102)')
    .option('--skip-inbound-ports <list>', 'pod ports not redirected to the proxy, e.g. 22,8000-8010 (env EBB_SKIP_INBOUND_PORTS)')
    .option('--skip-outbound-ports <list>', 'destination ports not redirected (env EBB_SKIP_OUTBOUND_PORTS)')
    .option('--skip-outbound-cidrs <list>', 'destination networks not redirected, e.g. 10.96.0.1/32,fd00::/8 (env EBB_SKIP_OUTBOUND_CIDRS)')
    .option('--ipv6 <mode>', 'IPv6 rules via ip6tables: auto (when the host supports it), on, off (env EBB_INIT_IPV6, default auto)')
    .option('--dry-run', 'print the iptables-restore documents and change nothing')
    .action(async (flags: InitFlags) => {
      const raw: RawInitOptions = {};
      for (const key of Object.keys(INIT_ENV) as (keyof RawInitOptions)[]) {
        const value = flags[key] ?? process.env[INIT_ENV[key]];
        if (value !== undefined) raw[key] = value;
      }
      const opts = resolveInitOptions(raw);
      if (flags.dryRun) {
        process.stdout.write(restoreDocument(opts, 4));
        if (opts.ipv6 !== 'off') process.stdout.write(`\n${restoreDocument(opts, 6)}`);
        return;
      }
      for (const r of await applyRules(opts)) {
        if (r.outcome === 'skipped') {
          process.stderr.write(`ebb init: IPv${r.family} rules skipped: ${r.reason}\n`);
        } else {
          const jumps = r.addedJumps?.length ? `added jumps: ${r.addedJumps.join('; ')}` : 'jumps already present';
          process.stderr.write(`ebb init: IPv${r.family} nat rules applied (inbound → ${opts.inboundPort}, outbound → ${opts.outboundPort}, ` +
            `proxy uid ${opts.proxyUid} exempt; ${jumps})\n`);
        }
      }
    });
}
