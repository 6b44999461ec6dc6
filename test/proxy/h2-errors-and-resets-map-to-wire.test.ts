import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { startH2App, startProxy, freePort, deferred } from './harness.js';
import { startGrpcApp, client } from './grpc.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

test('plain h2 with the app down: 502 with ebb-proxy-error', async () => {
  const p = await startProxy(['--app-port', String(await freePort())]);
  const c = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { c.destroy(); await p.stop(); });
  const h = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const req = c.request({ ':path': '/' });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  assert.equal(h[':status'], 502);
  assert.equal(h['ebb-proxy-error'], 'upstream_refused');
});

test('RST_STREAM propagates: a client cancel reaches the app, an app reset mid-response reaches the client', async () => {
  const appSawClose = deferred<number>();
  const app = await startH2App((stream, headers) => {
    stream.on('error', () => {}); // the reset below errors the app's own stream too
    if (headers[':path'] === '/cancel-me') {
      stream.respond({ ':status': 200 });
      stream.write('started');
      stream.on('close', () => appSawClose.resolve(stream.rstCode));
      return;
    }
    stream.respond({ ':status': 200 });
    stream.write('partial', () => setTimeout(() => stream.destroy(new Error('app fails mid-response')), 20));
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const c = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { c.destroy(); await p.stop(); await app.close(); });

  const req = c.request({ ':path': '/cancel-me' });
  req.on('error', () => {});
  await new Promise<void>((resolve) => req.once('data', () => resolve()));
  req.close(NGHTTP2_CANCEL);
  assert.equal(await appSawClose.promise, NGHTTP2_CANCEL);

  const seen = await new Promise<{ code: number; error: string }>((resolve) => {
    const r = c.request({ ':path': '/reset-me' });
    let error = '';
    r.on('data', () => {});
    r.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? ''; });
    r.on('close', () => resolve({ code: r.rstCode, error }));
    r.end();
  });
  assert.equal(seen.code, NGHTTP2_INTERNAL_ERROR, 'the client stream is reset, not ended cleanly');
  assert.equal(seen.error, 'ERR_HTTP2_STREAM_ERROR');
});

test('gRPC call the app never answers, with --upstream-timeout: DEADLINE_EXCEEDED (4) from the proxy', async () => {
  const app = await startGrpcApp({ onCount: () => {} });
  const p = await startProxy(['--app-port', String(app.port), '--upstream-timeout', '0.5']);
  const c = client(p.port);
  after(async () => { c.close(); await p.stop(); app.close(); });
  const status = await new Promise<grpc.StatusObject>((resolve) => {
    const s = c.count({ n: 1 });
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('status', resolve);
  });
  assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
  assert.equal(status.metadata.get('ebb-proxy-error')[0], 'upstream_timeout');
});
