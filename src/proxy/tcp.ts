import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.js';

/**
 * Opaque TCP: bytes piped both ways, half-close carried across (a client's FIN becomes a FIN to
 * the app and vice versa). Graceful close for a pipe is simply waiting for it to end: the drain
 * holds the connection's handle until the client socket closes, and forces it at the deadline.
 * Upgraded HTTP/1 connections (WebSocket) are spliced here too, with the request head replayed.
 */
export function pipeToApp(ctx: ProxyContext, client: Duplex, appPort: number, preamble?: Buffer, host = '127.0.0.1'): void {
  const upstream = net.connect({ host, port: appPort, allowHalfOpen: true, noDelay: true });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    if (preamble && preamble.length > 0) upstream.write(preamble);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  splice(ctx, client, upstream, appPort, () => connected);
}

/**
 * The error and close handling of a pipe between a client and an app connection (which may still
 * be connecting): an upgraded HTTP/1 connection becomes one once the app has said 101.
 */
export function splice(ctx: ProxyContext, client: Duplex, upstream: Duplex, appPort: number, connected: () => boolean = () => true): void {
  upstream.on('error', (err) => {
    ctx.log.debug({ err, appPort, connected: connected() }, 'tcp: upstream error');
    // No protocol to speak an error in: reset the client so it does not mistake this for a clean end.
    const c = client as net.Socket;
    if (typeof c.resetAndDestroy === 'function' && !c.destroyed) c.resetAndDestroy();
    else client.destroy();
  });
  client.on('error', (err) => {
    ctx.log.debug({ err, appPort }, 'tcp: client error');
    upstream.destroy();
  });
  // One side gone for good while the other still has bytes to send: nothing can carry them.
  client.once('close', () => { if (!upstream.readableEnded) upstream.destroy(); });
  upstream.once('close', () => { if (!client.readableEnded) client.destroy(); });
}
