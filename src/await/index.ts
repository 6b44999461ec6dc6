import { EbbError, EXIT } from '../errors.js';
import { requestShutdown, waitForReady } from './admin-client.js';
import { runChild, SignalRelay, signalNumber } from './child.js';
import { formatDuration } from './duration.js';

export { parseDuration, formatDuration } from './duration.js';

export interface AwaitOptions {
  host: string;
  port: number;
  timeoutMs: number;
  timeoutFatal: boolean;
  shutdown: boolean;
  /** Empty: wait for readiness and exit 0 (the classic-mode postStart hook). */
  command: readonly string[];
  /** EBB_AWAIT_DISABLED: skip the readiness wait only; --shutdown still happens. */
  readinessDisabled: boolean;
  /** Bound on the POST /shutdown exchange. */
  shutdownTimeoutMs?: number;
  /** Where the one-line notes go (stderr in the CLI). */
  say?: (line: string) => void;
}

/** Runs `ebb await` and resolves with its exit code. Throws EbbError(69) on a fatal readiness timeout. */
export async function runAwait(o: AwaitOptions): Promise<number> {
  const say = o.say ?? ((line: string) => process.stderr.write(`ebb await: ${line}\n`));
  const readyUrl = `http://${o.host}:${o.port}/ready`;
  const relay = new SignalRelay();
  try {
    if (o.readinessDisabled) {
      say('EBB_AWAIT_DISABLED is set: not waiting for the proxy to be ready');
    } else {
      const r = await waitForReady({ host: o.host, port: o.port, timeoutMs: o.timeoutMs, abort: relay.abort });
      if (!r.ready) {
        if (r.aborted && relay.received) {
          say(`${relay.received} arrived while waiting for the proxy; exiting without running the command`);
          return 128 + signalNumber(relay.received);
        }
        const what = `the proxy was not ready at ${readyUrl} after ${formatDuration(o.timeoutMs)} (${r.tries} tries; last answer: ${r.last})`;
        if (o.timeoutFatal) {
          throw new EbbError('proxy_unavailable', `await: ${what}; exiting ${EXIT.unavailable}. ` +
            'Raise --timeout, or pass --timeout-fatal=false to run the command anyway.', EXIT.unavailable);
        }
        say(`${what}; running the command anyway (--timeout-fatal=false)`);
      }
    }

    if (o.command.length === 0) return EXIT.ok;

    const [cmd, ...args] = o.command as [string, ...string[]];
    const outcome = await runChild(cmd, args, relay);
    if (outcome.exitCode === 126 || outcome.exitCode === 127) say(outcome.description);

    if (o.shutdown) {
      const s = await requestShutdown(o.host, o.port, o.shutdownTimeoutMs ?? 5000);
      if (!s.ok) {
        // Loud on purpose: the proxy keeps running, so the pod (and the Job) will not complete.
        process.stderr.write(`ebb await: ERROR: could not shut the proxy down: ${s.problem}. ` +
          `The proxy keeps running and the pod will not complete. (The command's exit code ${outcome.exitCode} is kept.)\n`);
      }
    }
    return outcome.exitCode;
  } finally {
    relay.close();
  }
}
