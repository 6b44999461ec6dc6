import net from 'node:net';
import { DIR_INBOUND, DIR_OUTBOUND } from '../admin/metrics.js';
import { Drain, createWaitingStrategy, type Handle } from '../drain/index.js';
import type { OriginalDst } from '../native/original-dst.js';
import { listeningPorts, waitForAppGone } from './app-gone.js';
import type { ProxyContext, TrackedSocket } from './context.js';
import { kHandle } from './context.js';
import { detectProtocol, DETECT_TIMEOUT_MS, isOpaquePort, type Detected } from './detect.js';
import { createHttp1Proxy, type Http1Engine } from './http1-engine.js';
import { Http2Proxy } from './http2.js';
import { pipeToApp } from './tcp.js';
import { Upstream } from './upstream.js';

/**
 * Transparent interception (docs/init.md): `ebb init`'s iptables rules REDIRECT the pod's inbound
 * TCP to the inbound listener and its outbound TCP to the outbound listener; each connection's
 * original destination (SO_ORIGINAL_DST, via the native addon) says where it was going.
 *
 * Both directions reuse the inbound protocol handlers (detection, HTTP/1, HTTP/2, TCP, error
 * mapping) with one "route" (upstream pool + handlers) per destination.
 */
export type OriginalDstFn = (socket: net.Socket) => OriginalDst;


interface Route {
  readonly upstream: Upstream;
  readonly http1: Http1Engine;
  /** Made with the route's first HTTP/2 connection (it loads node:http2, see http2.ts). */
  http2: Http2Proxy | null;
  conns: number;
  idle: NodeJS.Timeout | null;
}

/** One route per destination, created on first use; outbound routes idle for `idleMs` are closed. */
class Routes {
  private readonly map = new Map<string, Route>();
  constructor(private readonly ctx: ProxyContext, private readonly idleMs: number | null) {}

  acquire(host: string, port: number): Route {
    const key = `${host}|${port}`;
    let r = this.map.get(key);
    if (!r) {
      const upstream = new Upstream(port, this.ctx.config.upstreamTimeoutSeconds, host);
      r = { upstream, http1: createHttp1Proxy(this.ctx, upstream), http2: null, conns: 0, idle: null };
      this.map.set(key, r);
    }
    if (r.idle) { clearTimeout(r.idle); r.idle = null; }
    r.conns++;
    return r;
  }

  release(host: string, port: number, r: Route): void {
    if (--r.conns > 0 || this.idleMs === null) return;
    r.idle = setTimeout(() => {
      if (r.conns > 0) return;
      this.map.delete(`${host}|${port}`);
      r.upstream.close();
    }, this.idleMs);
    r.idle.unref();
  }

  closeAll(): void {
    for (const r of this.map.values()) {
      if (r.idle) clearTimeout(r.idle);
      r.upstream.close();
    }
    this.map.clear();
  }
}

/** Detects the protocol and hands the connection to the route's handler (as InboundListener does). */
function serve(ctx: ProxyContext, socket: net.Socket, handle: Handle, dir: 'inbound' | 'outbound', route: Route, opaque: boolean): void {
  const d = dir === 'inbound' ? DIR_INBOUND : DIR_OUTBOUND;
  const { host, port } = route.upstream;
  if (opaque) {
    handle.setKind(`${dir}:tcp`);
    ctx.metrics.connectionAccepted(d, 'tcp-opaque');
    pipeToApp(ctx, socket, port, undefined, host);
    return;
  }
  detectProtocol(socket, DETECT_TIMEOUT_MS, (proto: Detected, leftover?: Buffer) => {
    if (socket.destroyed) return;
    switch (proto) {
      case 'http1':
        handle.setKind(`${dir}:http1`);
        ctx.metrics.connectionAccepted(d, 'http1');
        route.http1.accept(socket);
        break;
      case 'http2':
        handle.setKind(`${dir}:http2`);
        ctx.metrics.connectionAccepted(d, 'http2');
        (route.http2 ??= new Http2Proxy(ctx, route.upstream)).accept(socket);
        break;
      default:
        handle.setKind(`${dir}:tcp`);
        ctx.metrics.connectionAccepted(d, 'tcp');
        pipeToApp(ctx, socket, port, leftover, host);
    }
  });
}

function reset(socket: net.Socket): void {
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function listenOn(server: net.Server, port: number, host: string, ipv6Only = false): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * `ebb init` redirects IPv6 too (ip6tables), to the same port on an IPv6 address: `::1` for
 * outbound, the pod's address for inbound. When the IPv4 listener is on 0.0.0.0 or 127.0.0.1, a
 * second server takes the IPv6 side (`::` or `::1`, same port). A host without IPv6 simply has
 * none: that is logged, not fatal.
 */
async function listenV6Twin(ctx: ProxyContext, v4Host: string, port: number, onConn: (s: net.Socket) => void): Promise<net.Server | null> {
  const v6Host = v4Host === '0.0.0.0' ? '::' : v4Host === '127.0.0.1' ? '::1' : null;
  if (v6Host === null) return null;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, onConn);
  try {
    await listenOn(server, port, v6Host, true);
    return server;
  } catch (err) {
    ctx.log.info({ host: v6Host, port, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message }, 'no IPv6 listener (IPv6 unavailable here)');
    return null;
  }
}

/**
 * The inbound listener in transparent mode: forwards each connection to 127.0.0.1:<original port>.
 * A connection that was not redirected (made to the listener itself) goes to the one configured
 * app port if there is exactly one, and is reset otherwise. Closes at draining, like InboundListener.
 */
export class TransparentInboundListener {
  readonly server: net.Server;
  /** The IPv6 side, when the host has IPv6 (see listenV6Twin). */
  server6: net.Server | null = null;
  port = -1;
  private readonly routes: Routes;

  constructor(private readonly ctx: ProxyContext, private readonly listenPort: number, private readonly originalDst: OriginalDstFn,
    /** App ports: the configured ones, plus every original port seen (the app-gone watch reads them). */
    readonly appPorts: Set<number>, private readonly fallbackPort: number | undefined) {
    this.routes = new Routes(ctx, null);
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  async listen(host: string): Promise<number> {
    this.port = await listenOn(this.server, this.listenPort, host);
    this.server6 = await listenV6Twin(this.ctx, host, this.port, (s) => this.accept(s));
    this.ctx.drain.registerListener(() => { this.server.close(); this.server6?.close(); });
    return this.port;
  }

  private accept(socket: net.Socket): void {
    const { drain, log } = this.ctx;
    if (!this.ctx.connections.admit(socket)) return; // --max-connections open already
    drain.connectionAccepted();
    socket.on('error', (err: NodeJS.ErrnoException) => log.debug({ err: err.code ?? err.message }, 'inbound socket error'));
    let port: number | undefined;
    try {
      const dst = this.originalDst(socket);
      if (dst.port !== this.port) port = dst.port;
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'inbound: no original destination');
    }
    port ??= this.fallbackPort;
    if (port === undefined) {
      log.warn({ remote: socket.remoteAddress }, 'inbound: connection was not redirected by `ebb init` rules and no single --app-port to send it to; reset');
      reset(socket);
      return;
    }
    this.appPorts.add(port);
    const handle = drain.hold('inbound:detecting', () => socket.destroy());
    (socket as TrackedSocket)[kHandle] = handle;
    const route = this.routes.acquire('127.0.0.1', port);
    socket.once('close', () => { handle.release(); this.routes.release('127.0.0.1', port, route); });
    serve(this.ctx, socket, handle, 'inbound', route, isOpaquePort(this.ctx.config.opaquePorts, port));
  }

  close(): void {
    this.server.close();
    this.server6?.close();
    this.routes.closeAll();
  }
}

/**
 * The outbound listener (127.0.0.1 only): the app's redirected outbound TCP, forwarded to its
 * original destination. It has its own Drain, so the main drain's phases (Connection: close,
 * 503 on busy keep-alive connections, GOAWAY, closing idle sockets) do not reach the app's
 * outbound calls; it holds one handle on the main drain until it is done.
 *
 * Shutdown policy (seed problem 1): keep accepting while the app may still need it.
 * - native mode: the kubelet sends TERM to a native sidecar only after the app containers exited,
 *   so outbound closes when the main drain starts draining;
 * - classic mode: the app gets TERM at the same time as the proxy and may keep calling out while it
 *   finishes its work; outbound closes once the app is gone (every app port refuses connections for
 *   a settle time, see app-gone.ts);
 * - either way, at the latest at the main drain's deadline, which closes what is left by force.
 */
/** Shutdown triggers that mean the app has finished (src/proxy/app-exit-watch.ts, src/admin/server.ts). */
const APP_DONE_REASONS: ReadonlySet<string> = new Set(['app-exited', 'POST /shutdown']);

export class OutboundListener {
  readonly server: net.Server;
  server6: net.Server | null = null;
  readonly drain: Drain;
  port = -1;
  private readonly ctx: ProxyContext;
  private readonly routes: Routes;
  private readonly sockets = new Set<net.Socket>();
  private readonly stopWatch = new AbortController();

  constructor(private readonly main: ProxyContext, private readonly listenPort: number, private readonly originalDst: OriginalDstFn,
    private readonly appPorts: () => readonly number[],
    /** The proxy's other listening ports (inbound, admin), never taken for the app's. */
    private readonly ownPorts: () => readonly number[] = () => []) {
    // The outbound drain's own phase logs would read like the proxy's; it logs its own lines instead.
    this.drain = new Drain({
      waiting: createWaitingStrategy({ mode: 'fixed', seconds: 0 }),
      drainTimeoutSeconds: main.config.drainTimeoutSeconds,
      log: main.log.child({ listener: 'outbound' }, { level: 'silent' }),
    });
    this.ctx = { ...main, drain: this.drain, direction: DIR_OUTBOUND };
    main.metrics.addConnectionDrain(this.drain); // its connections show in ebb_open_connections{direction="outbound"}
    this.routes = new Routes(this.ctx, 60_000);
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  async listen(): Promise<number> {
    this.port = await listenOn(this.server, this.listenPort, '127.0.0.1');
    this.server6 = await listenV6Twin(this.main, '127.0.0.1', this.port, (s) => this.accept(s));
    this.drain.registerListener(() => { this.server.close(); this.server6?.close(); });
    const main = this.main.drain;
    const held = main.hold('outbound', () => this.forceClose());
    void this.drain.exited.then(() => {
      this.main.log.info({ forcedCloses: this.drain.forcedCloses }, 'outbound closed');
      held.release();
    });
    if (this.main.config.sidecarMode === 'native') {
      main.on('draining', () => this.close('native mode: TERM means the app has exited'));
    } else {
      // A shutdown the app's own end started (the exit watch saw it go; `ebb await --shutdown` after
      // its command ended): nothing is left to call out, as in native mode. A Job has no port to
      // watch, so waiting for the deadline would hold its pod that long.
      const appDone = (): boolean => APP_DONE_REASONS.has(main.reason ?? '');
      main.on('draining', () => { if (appDone()) this.close(`${main.reason}: the app's work is done`); });
      main.on('waiting', () => {
        if (appDone()) return;
        // Ports the app serves: configured or seen inbound; else what listens in the pod right now
        // (the app is still running at TERM in classic mode), taken once so its exit shows.
        let ports = this.appPorts();
        if (ports.length === 0) ports = listeningPorts([this.port, ...this.ownPorts()]);
        this.main.log.info({ appPorts: ports }, ports.length > 0
          ? 'outbound stays open until the app is gone (its ports refuse connections) or the drain deadline'
          : 'outbound stays open until the drain deadline (no app port known to watch)');
        const known = this.appPorts().length > 0 ? this.appPorts : () => ports;
        // Inbound requests still in flight to the app (the main drain counts them): it is still working.
        const busy = (): boolean => main.inFlight().requests > 0;
        void waitForAppGone({ ports: known, signal: this.stopWatch.signal, busy }).then((r) => {
          if (r === 'app-gone') this.close('app gone: its ports refuse connections');
        });
      });
    }
    main.on('exited', () => this.stopWatch.abort());
    return this.port;
  }

  private accept(socket: net.Socket): void {
    const log = this.main.log;
    socket.on('error', (err: NodeJS.ErrnoException) => log.debug({ err: err.code ?? err.message }, 'outbound socket error'));
    let dst: OriginalDst;
    try {
      dst = this.originalDst(socket);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'outbound: connection has no original destination (not redirected by `ebb init` rules); reset');
      reset(socket);
      return;
    }
    // A connection "to" the outbound listener itself would be forwarded to itself forever.
    if (dst.port === this.port && (dst.address === '127.0.0.1' || dst.address === '::1')) {
      log.warn({ dst }, 'outbound: connection made directly to the outbound listener; reset');
      reset(socket);
      return;
    }
    this.sockets.add(socket);
    const handle = this.drain.hold('outbound:detecting', () => socket.destroy());
    (socket as TrackedSocket)[kHandle] = handle;
    const route = this.routes.acquire(dst.address, dst.port);
    socket.once('close', () => {
      this.sockets.delete(socket);
      handle.release();
      this.routes.release(dst.address, dst.port, route);
    });
    const opaque = isOpaquePort(this.main.config.opaquePorts, dst.port);
    serve(this.ctx, socket, handle, 'outbound', route, opaque);
  }

  /** Stop accepting; in-flight outbound work finishes (the outbound drain). */
  close(reason: string): void {
    if (this.drain.phase !== 'running') return;
    this.stopWatch.abort();
    this.main.log.info({ reason, open: this.sockets.size }, 'outbound closing');
    this.drain.trigger(reason);
  }

  /** The main drain's deadline: close everything now. */
  private forceClose(): void {
    this.stopWatch.abort();
    this.server.close();
    this.server6?.close();
    for (const s of this.sockets) s.destroy();
  }

  dispose(): void {
    this.forceClose();
    this.routes.closeAll();
  }
}
