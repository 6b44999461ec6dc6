import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startH2App, startProxy, deferred } from './harness.js';

const MB = 1024 * 1024;

test('TERM during an H2 download: the client sees GOAWAY, its open stream still completes with every byte', async () => {
  const release = deferred();
  const app = await startH2App(async (stream) => {
    stream.respond({ ':status': 200 });
    stream.write(Buffer.alloc(MB, 1));
    await release.promise;
    for (let i = 0; i < 8; i++) stream.write(Buffer.alloc(MB, 2));
    stream.end();
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const client = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { release.resolve(); client.destroy(); await p.stop(); await app.close(); });

  const goaway = new Promise<number>((resolve) => client.once('goaway', (code: number) => resolve(code)));
  const got = await new Promise<{ bytes: number; status: number }>((resolve, reject) => {
    const req = client.request({ ':path': '/download' });
    let bytes = 0;
    let status = 0;
    let signalled = false;
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (!signalled) {
        signalled = true;
        p.signal('SIGTERM');
        void goaway.then(() => release.resolve());
      }
    });
    req.on('end', () => resolve({ bytes, status }));
    req.on('error', reject);
    req.end();
  });
  assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
  assert.equal(got.status, 200);
  assert.equal(got.bytes, 9 * MB);
  assert.equal((await p.exited).code, 0);
  assert.equal(p.logs.find((l) => l.msg === 'shutdown complete')!.drainEndedBy, 'idle');
});

test('TERM during an H2 upload: the app receives the whole body after GOAWAY, the client gets the answer', async () => {
  const gotFirst = deferred();
  const app = await startH2App((stream) => {
    let n = 0;
    stream.on('data', (c: Buffer) => { n += c.length; gotFirst.resolve(); });
    stream.on('end', () => { stream.respond({ ':status': 200 }); stream.end(`received ${n}`); });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const client = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { client.destroy(); await p.stop(); await app.close(); });

  const goaway = new Promise<void>((resolve) => client.once('goaway', () => resolve()));
  const req = client.request({ ':method': 'POST', ':path': '/upload' });
  const reply = new Promise<string>((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve(body));
    req.on('error', reject);
  });
  req.write(Buffer.alloc(MB, 1));
  await gotFirst.promise;
  p.signal('SIGTERM');
  await goaway;
  for (let i = 0; i < 8; i++) req.write(Buffer.alloc(MB, 2));
  req.end();
  assert.equal(await reply, `received ${9 * MB}`);
  assert.equal((await p.exited).code, 0);
});
