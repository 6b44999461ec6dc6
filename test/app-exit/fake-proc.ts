import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A directory shaped like /proc (stat + cmdline per pid), for driving the watcher deterministically. */
export class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'ebb-fake-proc-'));

  add(pid: number, ppid: number, comm: string, argv: string[], opts: { state?: string; start?: number } = {}): void {
    const dir = join(this.root, String(pid));
    mkdirSync(dir, { recursive: true });
    const fields = [opts.state ?? 'S', String(ppid), ...Array.from({ length: 17 }, () => '0'), String(opts.start ?? pid * 10), '0', '0'];
    writeFileSync(join(dir, 'stat'), `${pid} (${comm}) ${fields.join(' ')}\n`);
    writeFileSync(join(dir, 'cmdline'), argv.map((a) => `${a}\0`).join(''));
  }

  remove(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
