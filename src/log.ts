import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { createRequire } from 'node:module';

export type LogFormat = 'json' | 'pretty';
export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Logs go to stderr so stdout stays free for command output (manifests, JSON). */
export function createLogger(level: LevelWithSilent = 'info', format: LogFormat = 'json', name = 'ebb'): Logger {
  if (format === 'pretty') {
    // Loaded only when asked for: the JSON default (the sidecar's) does not carry it in memory.
    const pretty = createRequire(import.meta.url)('pino-pretty') as (opts: Record<string, unknown>) => DestinationStream;
    return pino({ name, level }, pretty({ destination: 2, sync: true, colorize: false }));
  }
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}
