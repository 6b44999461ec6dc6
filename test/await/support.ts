import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the proxy's admin server with scripted answers, for the cases a real proxy cannot
 * be made to produce on demand (a /ready that turns 200 after N tries, a /shutdown that fails).
 * Every request is recorded in order, together with marks the test's child command posts to /mark/X.
 */
export interface FakeAdmin {
  port: number;
  events: string[];
  readyAnswers: (n: number) => number;
  shutdownStatus: number;
  close(): Promise<void>;
}

export async function startFakeAdmin(opts: { readyAnswers?: (n: number) => number; shutdownStatus?: number } = {}): Promise<FakeAdmin> {
  const fake: FakeAdmin = {
    port: 0,
    events: [],
    readyAnswers: opts.readyAnswers ?? (() => 200),
    shutdownStatus: opts.shutdownStatus ?? 202,
    close: async () => {},
  };
  let readyCount = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/ready') {
      const status = fake.readyAnswers(readyCount++);
      fake.events.push(`ready:${status}`);
      res.writeHead(status).end(status === 200 ? 'ready\n' : 'not ready\n');
    } else if (req.method === 'POST' && url === '/shutdown') {
      fake.events.push(`shutdown:${fake.shutdownStatus}`);
      res.writeHead(fake.shutdownStatus).end(fake.shutdownStatus === 404 ? 'not found\n' : 'shutting down\n');
    } else if (url.startsWith('/mark/')) {
      const name = url.slice('/mark/'.length);
      fake.events.push(`mark:${name}`);
      // `close-admin` lets a test's command take the "proxy" away before ebb await posts /shutdown.
      res.writeHead(200, { connection: 'close' }).end(() => { if (name === 'close-admin') server.close(); });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.port = (server.address() as AddressInfo).port;
  fake.close = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return fake;
}

/** A node one-liner that GETs /mark/NAME on the fake admin (so the test sees when the command ran), then runs REST. */
export function markThen(port: number, name: string, rest = ''): string[] {
  return [process.execPath, '-e',
    `require('http').get('http://127.0.0.1:${port}/mark/${name}', (r) => { r.resume(); r.on('end', () => { ${rest} }); });`];
}

/** Resolves once `text` has appeared in what the stream produced (bounded by the test's own timeout). */
export function waitForOutput(stream: NodeJS.ReadableStream, text: string | RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string): void => {
      seen += d.toString();
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) { stream.off('data', onData); resolve(seen); }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended before ${String(text)} appeared; saw: ${seen}`)));
  });
}
