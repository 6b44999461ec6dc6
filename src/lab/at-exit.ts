/**
 * What the lab must undo however it ends (its child processes, its network namespaces): each
 * cleanup runs when the process exits. SIGINT and SIGTERM are turned into an exit (130, 143), as
 * their default action would end the process without running any 'exit' handler.
 */
const cleanups = new Set<() => void>();
let installed = false;

/** Registers `cleanup` (once, however often it is given) to run at exit. */
export function atLabExit(cleanup: () => void): void {
  cleanups.add(cleanup);
  if (installed) return;
  installed = true;
  process.once('exit', () => { for (const c of cleanups) c(); });
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}
