import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startH2App, startProxy } from './harness.js';

// RFC 7541 §7.1.3: a field sent as never-indexed must stay never-indexed through an intermediary.
// Node reports such fields in headers[http2.sensitiveHeaders]; the proxy passes the list on, both ways.
test('h2c: headers the peer marks never-indexed stay never-indexed on the next hop, both ways', async () => {
  let appSaw: string[] = [];
  let appSawValue: string | undefined;
  const app = await startH2App((stream, headers) => {
    appSaw = ((headers as Record<symbol, unknown>)[http2.sensitiveHeaders] as string[] | undefined) ?? [];
    appSawValue = headers['x-request-secret'] as string | undefined;
    stream.respond({ ':status': 200, 'x-response-secret': 'r', 'x-plain': 'p', [http2.sensitiveHeaders]: ['x-response-secret'] });
    stream.end('ok');
  });
  const p = await startProxy(['--app-port', String(app.port)]);
  const client = http2.connect(`http://127.0.0.1:${p.port}`);
  after(async () => { client.destroy(); await p.stop(); await app.close(); });

  const res = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
    const req = client.request({ ':path': '/s', 'x-request-secret': 'q', 'x-other': 'o', [http2.sensitiveHeaders]: ['x-request-secret'] });
    req.on('response', (h) => { req.resume(); req.on('end', () => resolve(h)); });
    req.on('error', reject);
    req.end();
  });
  assert.equal(appSawValue, 'q');
  assert.ok(appSaw.includes('x-request-secret'), `app saw never-indexed: ${JSON.stringify(appSaw)}`);
  assert.ok(!appSaw.includes('x-other'));
  assert.equal(res['x-response-secret'], 'r');
  const clientSaw = ((res as Record<symbol, unknown>)[http2.sensitiveHeaders] as string[] | undefined) ?? [];
  assert.ok(clientSaw.includes('x-response-secret'), `client saw never-indexed: ${JSON.stringify(clientSaw)}`);
  assert.ok(!clientSaw.includes('x-plain'));
});
