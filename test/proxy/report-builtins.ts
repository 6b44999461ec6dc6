// Loaded into an `ebb proxy` child with --import, by tests only: on SIGUSR2 it writes the names
// of the node built-in modules the process has loaded so far, as one JSON line on stderr (the
// harness reads the proxy's stderr as JSON lines).
const list = (process as unknown as { moduleLoadList?: string[] }).moduleLoadList;
process.on('SIGUSR2', () => {
  const builtins = list ? list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)) : null;
  process.stderr.write(`${JSON.stringify({ msg: 'test: builtins', builtins })}\n`);
});
