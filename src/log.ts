import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';
export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Logs go to stderr so stdout stays free for command output (manifests, JSON). */
export function createLogger(level: LevelWithSilent = 'info', format: LogFormat = 'json', name = 'ebb'): Logger {
  if (format === 'pretty') {
    return pino({ name, level }, pretty({ destination: 2, sync: true, colorize: false }));
  }
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}
