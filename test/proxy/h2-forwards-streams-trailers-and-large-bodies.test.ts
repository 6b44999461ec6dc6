import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createHash } from 'node:crypto';
import { startH2App, startProxy } from './harness.js';

const MB = 1024 * 1024;

test('h2c prior knowledge: large bodies both ways, concurrent streams, trailers both ways', async () => {
  const app = await startH2App((stream, headers) => {
    const h = createHash('sha256');
    let n = 0;
    let clientTrailer: string | undefined;
    stream.on('trailers', (t) => { clientTrailer = t['x-client-trailer'] as string | undefined; });
    stream.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'x-got-bytes': String(n), 'x-got-sha': h.digest('hex'), 'x-path': headers[':path'] }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-app-trailer': `saw ${clientTrailer}` }));
      const want = Number(headers['x-want'] ?? 0);
      let sent = 0;
      const pump = (): void => {
        while (sent < want) {
          const c = Buffer.alloc(Math.min(64 * 1024, want - sent), 5);
          sent += c.length;
          if (!stream.write(c)) { stream.once('drain', pump); return; }
        }
        stream.end();
      };
      pump();
    });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const client = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { client.destroy(); await p.stop(); await app.close(); });

  const call = (path: string, upload: number, download: number) => new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; bytes: number }>((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': path, 'x-want': String(download) }, { waitForTrailers: true });
    req.on('wantTrailers', () => req.sendTrailers({ 'x-client-trailer': path }));
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let bytes = 0;
    req.on('response', (h) => { headers = h; });
    req.on('trailers', (t) => { trailers = t; });
    req.on('data', (c: Buffer) => { bytes += c.length; });
    req.on('end', () => resolve({ headers, trailers, bytes }));
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < upload) {
        const c = Buffer.alloc(Math.min(64 * 1024, upload - sent), 9);
        sent += c.length;
        if (!req.write(c)) { req.once('drain', pump); return; }
      }
      req.end();
    };
    pump();
  });

  const expectedSha = createHash('sha256').update(Buffer.alloc(20 * MB, 9)).digest('hex');
  const [a, b, c] = await Promise.all([call('/a', 20 * MB, 20 * MB), call('/b', 10, 10), call('/c', 0, 1000)]);
  assert.equal(a.headers[':status'], 200);
  assert.equal(a.headers['x-got-bytes'], String(20 * MB));
  assert.equal(a.headers['x-got-sha'], expectedSha);
  assert.equal(a.bytes, 20 * MB);
  assert.equal(a.trailers['x-app-trailer'], 'saw /a');
  assert.equal(b.headers['x-path'], '/b');
  assert.equal(b.bytes, 10);
  assert.equal(b.trailers['x-app-trailer'], 'saw /b');
  assert.equal(c.bytes, 1000);
});
