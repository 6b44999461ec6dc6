import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { startProxy, request, type ProxyProcess } from './harness.js';

// node:http2 brings tls and crypto with it (about 1.5 MB of an idle proxy's RSS, docs/proxy.md
// Memory): a proxy loads it with its first HTTP/2 connection, so a pod that speaks only HTTP/1
// never pays for it. The preload reports the proxy's loaded built-ins on SIGUSR2.
const PRELOAD = new URL('./report-builtins.js', import.meta.url).href;

async function builtins(p: ProxyProcess): Promise<string[]> {
  const seen = p.logs.length;
  p.child.kill('SIGUSR2');
  const line = await p.waitForLog((l) => l.msg === 'test: builtins' && p.logs.indexOf(l) >= seen, 'the built-ins report');
  assert.ok(Array.isArray(line.builtins), 'this Node has no process.moduleLoadList: the test cannot see what is loaded');
  return line.builtins as string[];
}

test('the proxy loads node:http2 with its first HTTP/2 connection, not before; both protocols are served', async () => {
  // One app port for both protocols: HTTP/2 prior knowledge by its preface, HTTP/1 otherwise.
  const h1 = http.createServer((_req, res) => res.end('one'));
  const h2 = http2.createServer();
  h2.on('stream', (stream) => { stream.respond({ ':status': 200 }); stream.end('two'); });
  const app = net.createServer((s) => {
    s.once('readable', () => {
      const first = s.read() as Buffer | null;
      if (first) s.unshift(first);
      (first?.subarray(0, 3).toString('latin1') === 'PRI' ? h2 : h1).emit('connection', s);
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const appPort = (app.address() as net.AddressInfo).port;
  const p = await startProxy(['--app-port', String(appPort)], { NODE_OPTIONS: `--import ${PRELOAD}` });
  let client: http2.ClientHttp2Session | null = null;
  after(async () => { client?.destroy(); await p.stop(); app.close(); h2.close(); h1.close(); });

  const before = await builtins(p);
  assert.ok(before.includes('net'), `the report lists built-ins: ${before.join(' ')}`);
  assert.ok(!before.includes('http2'), 'node:http2 is not loaded at start');

  const r1 = await request(p.port, { path: '/' });
  assert.equal(r1.status, 200);
  assert.equal(r1.body.toString(), 'one');
  assert.ok(!(await builtins(p)).includes('http2'), 'node:http2 is not loaded for HTTP/1 traffic');

  client = http2.connect(`http://127.0.0.1:${p.port}`);
  const body = await new Promise<string>((resolve, reject) => {
    const req = client!.request({ ':path': '/' });
    let b = '';
    req.setEncoding('utf8').on('data', (d: string) => { b += d; }).on('end', () => resolve(b)).on('error', reject);
    req.end();
  });
  assert.equal(body, 'two');
  assert.ok((await builtins(p)).includes('http2'), 'node:http2 is loaded once an HTTP/2 connection came');
});
