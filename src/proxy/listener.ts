import net from 'node:net';
import type { ProxyContext, TrackedSocket } from './context.js';
import { kHandle } from './context.js';
import { DIR_INBOUND } from '../admin/metrics.js';
import { detectProtocol, DETECT_TIMEOUT_MS, isOpaquePort, type Detected } from './detect.js';
import { createHttp1Proxy, type Http1Engine } from './http1-engine.js';
import { Http2Proxy } from './http2.js';
import { pipeToApp } from './tcp.js';
import { Upstream } from './upstream.js';
import type { InboundPair } from '../config/values.js';

/**
 * One inbound listener: accepts connections, detects the protocol from the first bytes (or forces
 * TCP for opaque ports) and hands each connection to http1/http2/tcp. Every connection holds a
 * drain handle until it closes; the listener itself stops accepting when draining starts.
 */
export class InboundListener {
  readonly server: net.Server;
  readonly upstream: Upstream;
  readonly http1: Http1Engine;
  /** Made with the first HTTP/2 connection (it loads node:http2, see http2.ts). */
  private h2: Http2Proxy | null = null;
  private readonly opaque: boolean;
  port = -1;

  constructor(private readonly ctx: ProxyContext, readonly pair: InboundPair) {
    this.upstream = new Upstream(pair.appPort, ctx.config.upstreamTimeoutSeconds);
    this.http1 = createHttp1Proxy(ctx, this.upstream);
    this.opaque = isOpaquePort(ctx.config.opaquePorts, pair.appPort);
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  listen(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.pair.listenPort, host, () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as net.AddressInfo).port;
        this.ctx.drain.registerListener(() => this.server.close());
        resolve(this.port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    const { drain, metrics } = this.ctx;
    if (!this.ctx.connections.admit(socket)) return; // --max-connections open already
    drain.connectionAccepted();
    const handle = drain.hold('inbound:detecting', () => socket.destroy());
    (socket as TrackedSocket)[kHandle] = handle;
    socket.once('close', () => handle.release());
    socket.on('error', (err: NodeJS.ErrnoException) => this.ctx.log.debug({ err: err.code ?? err.message }, 'inbound socket error'));
    if (this.opaque) {
      handle.setKind('inbound:tcp');
      metrics.connectionAccepted(DIR_INBOUND, 'tcp-opaque');
      pipeToApp(this.ctx, socket, this.pair.appPort);
      return;
    }
    detectProtocol(socket, DETECT_TIMEOUT_MS, (proto: Detected, leftover?: Buffer) => {
      if (socket.destroyed) return;
      switch (proto) {
        case 'http1':
          handle.setKind('inbound:http1');
          metrics.connectionAccepted(DIR_INBOUND, 'http1');
          this.http1.accept(socket);
          break;
        case 'http2':
          handle.setKind('inbound:http2');
          metrics.connectionAccepted(DIR_INBOUND, 'http2');
          (this.h2 ??= new Http2Proxy(this.ctx, this.upstream)).accept(socket);
          break;
        default:
          handle.setKind('inbound:tcp');
          metrics.connectionAccepted(DIR_INBOUND, 'tcp');
          pipeToApp(this.ctx, socket, this.pair.appPort, leftover);
      }
    });
  }

  close(): void {
    this.server.close();
    this.upstream.close();
  }
}
