/** The bare watcher as a process, printing what it sees; exits 0 when the app has exited. */
import { AppExitWatcher } from '../../src/proxy/app-exit-watch.js';

const [settleMs, minAgeMs, pollMs] = process.argv.slice(2).map(Number);
const say = (msg: string, extra: Record<string, unknown> = {}): void => { process.stdout.write(`${JSON.stringify({ msg, ...extra })}\n`); };
const w = new AppExitWatcher({
  settleMs, minAgeMs, pollMs,
  onAppSeen: (i) => say('app-seen', i),
  onAppExited: (i) => { say('app-exited', i); process.exit(0); },
}).start();
say('watching', { pid: process.pid });
// Keep running until the watcher decides (its own timer is unref'd on purpose).
setInterval(() => { void w; }, 60_000);
