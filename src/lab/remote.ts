/**
 * The "remote service" the lab's apps call out to with `ebb lab --transparent`: an HTTP server in
 * this process, on the node side of each pod's veth pair (never on a wildcard address), answering
 * 200 at once. The app calls it by address; `ebb init`'s rules send the call through the proxy's
 * outbound listener, which connects here from the pod's address.
 */
import http from 'node:http';
import type net from 'node:net';

export class RemoteService {
  /** Calls received, by the address they came from (the pod's). */
  readonly received = new Map<string, number>();
  private readonly servers: http.Server[] = [];

  /** Listens on `address` (a port chosen by the system) and returns the URL to call. */
  async listen(address: string): Promise<string> {
    const server = http.createServer((req, res) => {
      const from = req.socket.remoteAddress ?? '?';
      this.received.set(from, (this.received.get(from) ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
      res.end('remote ok\n');
    });
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, address, () => resolve()); });
    this.servers.push(server);
    return `http://${address}:${(server.address() as net.AddressInfo).port}/remote`;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); })));
  }
}
