import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, startProxy, deferred, rawConnect, state, eventually } from './harness.js';

// A client that pipelines requests and then goes away (a reset: a FIN alone is a half-close, and a
// half-closed client still gets its answers): the responses queued behind the first one
// never get the connection, and node:http never reports them closed. They must still count as
// finished (in /state and ebb_requests_in_flight), and the app must not be left answering them.
test('pipelined requests whose client went away stop counting as in flight', async () => {
  const release = deferred();
  const seen: string[] = [];
  const appGone = deferred();
  const app = await startApp(async (req, res) => {
    seen.push(req.url!);
    res.on('close', () => { if (req.url === '/stream' && !res.writableFinished) appGone.resolve(); });
    if (req.url === '/slow') { await release.promise; res.end('slow'); return; }
    if (req.url === '/stream') { res.write('part'); return; } // never ends on its own
    res.end(`body of ${req.url}`);
  });
  const p = await startProxy(['--app-port', String(app.port), '--max-app-connections-per-client', '3']); // all three at the app at once
  after(async () => { release.resolve(); await p.stop(); await app.close(); });

  const c = await rawConnect(p.port);
  c.socket.write('GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /stream HTTP/1.1\r\nHost: t\r\n\r\n');
  await eventually(() => seen.length === 3, 'the app saw all three');
  const requests = async (): Promise<number> => ((await state(p.admin)).inFlight as { requests: number }).requests;
  assert.equal(await requests(), 3);
  c.socket.resetAndDestroy();
  await eventually(async () => (await requests()) === 0, 'no request counted in flight after the client left');
  await appGone.promise; // the proxy let go of the app's never-ending answer to a request nobody waits for
});
