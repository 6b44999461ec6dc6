import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { startApp, startProxy } from './harness.js';

const MB = 1024 * 1024;

/** A deterministic body of `size` bytes, produced in chunks (no content-length: chunked). */
function bodyStream(size: number, seed: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) { this.push(null); return; }
      const n = Math.min(64 * 1024, size - sent);
      const b = Buffer.alloc(n, (sent / 65536 + seed) & 0xff);
      sent += n;
      this.push(b);
    },
  });
}
const sha = (): ReturnType<typeof createHash> => createHash('sha256');

test('HTTP/1.1: keep-alive reuse, chunked and large streaming bodies both ways arrive intact', async () => {
  const app = await startApp((req, res) => {
    const h = sha();
    let n = 0;
    req.on('data', (c: Buffer) => { h.update(c); n += c.length; });
    req.on('end', () => {
      const size = Number(req.headers['x-want'] ?? 0);
      res.writeHead(200, { 'x-got-bytes': String(n), 'x-got-sha': h.digest('hex'), 'x-app-te': String(req.headers['transfer-encoding']) });
      bodyStream(size, 7).pipe(res);
    });
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  after(async () => { agent.destroy(); await p.stop(); await app.close(); });

  const sockets = new Set<unknown>();
  const call = (upload: number, download: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; digest: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: p.port, method: 'POST', path: '/x', agent, headers: { 'x-want': String(download) } }, (res) => {
        const h = sha();
        let bytes = 0;
        res.on('data', (c: Buffer) => { h.update(c); bytes += c.length; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes, digest: h.digest('hex') }));
      });
      req.on('socket', (s) => sockets.add(s));
      req.on('error', reject);
      bodyStream(upload, 3).pipe(req); // no content-length: chunked upload
    });

  const expect = (size: number, seed: number): { digest: string } => {
    const h = sha();
    return new Promise<{ digest: string }>((resolve) => {
      bodyStream(size, seed).on('data', (c: Buffer) => h.update(c)).on('end', () => resolve({ digest: h.digest('hex') }));
    }) as unknown as { digest: string };
  };

  const small = await call(10, 10);
  assert.equal(small.status, 200);
  assert.equal(small.headers['x-got-bytes'], '10');
  const big = await call(40 * MB, 40 * MB);
  assert.equal(big.status, 200);
  assert.equal(big.headers['x-app-te'], 'chunked', 'a chunked upload reaches the app chunked');
  assert.equal(big.headers['x-got-bytes'], String(40 * MB));
  assert.equal(big.headers['x-got-sha'], (await expect(40 * MB, 3)).digest);
  assert.equal(big.bytes, 40 * MB);
  assert.equal(big.digest, (await expect(40 * MB, 7)).digest);
  assert.equal(big.headers['transfer-encoding'], 'chunked');
  assert.equal(sockets.size, 1, 'the client reused one keep-alive connection');
});
