import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Every signal a process can catch and a container runtime or user plausibly sends. Linkerd's
 * wrapper forwards only TERM; a Job's command may rely on INT, HUP or the USR pair as well.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

export function signalNumber(sig: NodeJS.Signals): number {
  return constants.signals[sig] ?? 0;
}

export interface ChildOutcome {
  /** What `ebb await` exits with: the child's code, 128+N when a signal ended it, 126/127 when it could not start. */
  exitCode: number;
  description: string;
}

/**
 * Runs CMD with inherited stdio and forwards signals until it ends. Signal handlers are installed
 * by the caller before the readiness wait (see SignalRelay) so nothing is lost in between.
 */
export function runChild(cmd: string, args: readonly string[], relay: SignalRelay): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (o: ChildOutcome): void => {
      if (settled) return;
      settled = true;
      relay.detach();
      resolve(o);
    };
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('error', (err: NodeJS.ErrnoException) => {
      // The shell's conventions: 127 not found, 126 found but not runnable.
      const exitCode = err.code === 'ENOENT' ? 127 : 126;
      finish({ exitCode, description: `could not start ${JSON.stringify(cmd)}: ${err.message}` });
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        const n = signalNumber(signal);
        finish({ exitCode: 128 + n, description: `${JSON.stringify(cmd)} was killed by ${signal}` });
      } else {
        finish({ exitCode: code ?? 1, description: `${JSON.stringify(cmd)} exited with code ${code}` });
      }
    });
    if (child.pid !== undefined) relay.attach((sig) => { child.kill(sig); });
  });
}

/**
 * Catches the forwarded signals for the life of `ebb await`. Before a child exists a signal is
 * remembered (the caller stops waiting and exits 128+N); once a child exists it is passed on.
 */
export class SignalRelay {
  private target: ((sig: NodeJS.Signals) => void) | undefined;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  private readonly abortCtl = new AbortController();
  received: NodeJS.Signals | undefined;

  constructor() {
    for (const sig of FORWARDED_SIGNALS) {
      const h = (): void => {
        if (this.target) { this.target(sig); return; }
        this.received ??= sig;
        this.abortCtl.abort();
      };
      this.handlers.set(sig, h);
      process.on(sig, h);
    }
  }

  /** Aborted when a signal arrives while there is no child to pass it to. */
  get abort(): AbortSignal { return this.abortCtl.signal; }

  attach(target: (sig: NodeJS.Signals) => void): void { this.target = target; }

  /** The child is gone: signals are no longer forwarded, but still caught so that the /shutdown call can finish. */
  detach(): void { this.target = undefined; }

  close(): void {
    for (const [sig, h] of this.handlers) process.off(sig, h);
    this.handlers.clear();
  }
}
