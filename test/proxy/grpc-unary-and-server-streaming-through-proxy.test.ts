import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startProxy, freePort } from './harness.js';
import { startGrpcApp, client } from './grpc.js';

test('gRPC through the proxy: unary and server-streaming calls keep status, metadata and trailers', async () => {
  const app = await startGrpcApp();
  const p = await startProxy(['--app-port', String(app.port)]);
  const c = client(p.port);
  after(async () => { c.close(); await p.stop(); app.close(); });

  const md = new grpc.Metadata();
  md.set('x-client', 'hello');
  let trailers: grpc.Metadata | undefined;
  const unary = await new Promise<unknown>((resolve, reject) => {
    const call = c.echo({ a: 1 }, md, (err, res) => (err ? reject(err) : resolve(res)));
    call.on('status', (s: grpc.StatusObject) => { trailers = s.metadata; });
  });
  assert.deepEqual(unary, { echo: { a: 1 }, header: 'hello' });
  assert.equal(trailers?.get('x-trailer')[0], 'from-app');

  const got: unknown[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
    const s = c.count({ n: 50 });
    s.on('data', (m: unknown) => got.push(m));
    s.on('status', resolve);
    s.on('error', reject);
  });
  assert.equal(got.length, 50);
  assert.deepEqual(got[49], { i: 49 });
  assert.equal(status.code, grpc.status.OK);
  assert.equal(status.metadata.get('x-trailer')[0], 'counted');

  const failed = await new Promise<grpc.ServiceError>((resolve) => c.fail({ code: grpc.status.NOT_FOUND }, (err) => resolve(err!)));
  assert.equal(failed.code, grpc.status.NOT_FOUND);
  assert.equal(failed.details, 'asked to fail');
});

test('gRPC with the app down: UNAVAILABLE (14) from the proxy, with a message and ebb-proxy-error', async () => {
  const p = await startProxy(['--app-port', String(await freePort())]);
  const c = client(p.port);
  after(async () => { c.close(); await p.stop(); });
  const err = await new Promise<grpc.ServiceError>((resolve) => {
    c.echo({}, new grpc.Metadata(), (e) => resolve(e!));
  });
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.match(err.details, /ebb: the app refused the connection/);
  assert.equal(err.metadata.get('ebb-proxy-error')[0], 'upstream_refused');
});
