import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, startTcpApp, state, eventually } from './harness.js';

/** An echo app that, on the client's half-close, sends "bye" and closes its side. */
const echoThenBye = (s: net.Socket): void => {
  s.on('data', (d: Buffer) => s.write(d));
  s.on('end', () => s.end('bye'));
};

for (const mode of ['detected', 'opaque'] as const) {
  test(`TCP (${mode}): a pipe open at TERM keeps working, half-close is carried across, then the proxy exits 0`, async () => {
    const app = await startTcpApp(echoThenBye);
    const args = ['--app-port', String(app.port)];
    if (mode === 'opaque') args.push('--opaque-ports', String(app.port));
    const p = await startProxy(args);
    after(async () => { await p.stop(); await app.close(); });

    const sock = net.connect({ port: p.port, host: '127.0.0.1', allowHalfOpen: true });
    let received = '';
    sock.setEncoding('utf8').on('data', (d: string) => { received += d; });
    const ended = new Promise<void>((resolve) => sock.on('end', resolve));
    // Not HTTP: the first bytes make detection choose TCP.
    sock.write('\x00\x01hello ');
    await eventually(() => received === '\x00\x01hello ', 'first echo');
    await eventually(async () => ((await state(p.admin)).inFlight as { handles: Record<string, number> }).handles['inbound:tcp'] === 1, 'tcp connection counted');

    p.signal('SIGTERM');
    await p.waitForLog((l) => l.msg === 'draining');
    sock.write('world');
    await eventually(() => received.endsWith('world'), 'echo while draining');
    sock.end(); // half-close: the app sees 'end', answers, then closes
    await ended;
    assert.equal(received, '\x00\x01hello worldbye');
    sock.destroy();
    assert.equal((await p.exited).code, 0);
    assert.equal(p.logs.find((l) => l.msg === 'shutdown complete')!.drainEndedBy, 'idle');
  });
}
