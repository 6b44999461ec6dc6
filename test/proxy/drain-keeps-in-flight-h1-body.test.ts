import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startApp, startProxy, deferred } from './harness.js';

const MB = 1024 * 1024;

test('TERM during a streaming H1 response: every byte still arrives, then the proxy exits 0', async () => {
  const release = deferred();
  const app = await startApp(async (_req, res) => {
    res.writeHead(200, { 'content-length': String(9 * MB) });
    res.write(Buffer.alloc(MB, 1));
    await release.promise;
    for (let i = 0; i < 8; i++) res.write(Buffer.alloc(MB, 2));
    res.end();
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { release.resolve(); await p.stop(); await app.close(); });

  const got = await new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: p.port, path: '/download', agent: false }, (res) => {
      let bytes = 0;
      let signalled = false;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (!signalled) {
          signalled = true;
          p.signal('SIGTERM');
          void p.waitForLog((l) => l.msg === 'draining', 'draining').then(() => release.resolve());
        }
      });
      res.on('end', () => resolve({ bytes, complete: res.complete }));
      res.on('error', reject);
    }).on('error', reject);
  });
  assert.equal(got.bytes, 9 * MB);
  assert.equal(got.complete, true);
  const { code } = await p.exited;
  assert.equal(code, 0);
  const summary = p.logs.find((l) => l.msg === 'shutdown complete')!;
  assert.equal(summary.drainEndedBy, 'idle');
  assert.equal(summary.forcedCloses, 0);
});

test('TERM during a streaming H1 upload: the app gets the whole body, the client its answer', async () => {
  const gotFirst = deferred();
  const app = await startApp((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => { n += c.length; gotFirst.resolve(); });
    req.on('end', () => res.end(`received ${n}`));
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  after(async () => { await p.stop(); await app.close(); });

  const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/upload', agent: false });
  const reply = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
  });
  req.write(Buffer.alloc(MB, 1));
  await gotFirst.promise;
  p.signal('SIGTERM');
  await p.waitForLog((l) => l.msg === 'draining', 'draining');
  for (let i = 0; i < 8; i++) req.write(Buffer.alloc(MB, 2));
  req.end();
  const r = await reply;
  assert.equal(r.status, 200);
  assert.equal(r.body, `received ${9 * MB}`);
  assert.equal(r.connection, 'close', 'a response during shutdown tells the client to reconnect');
  assert.equal((await p.exited).code, 0);
});
