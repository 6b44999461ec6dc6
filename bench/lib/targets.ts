// What the load generator is pointed at, per scenario: nothing (direct), ebb, and the peer proxies.
// Each target starts its own process(es) on a port picked here, pinned to the proxy CPU.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_ENV } from '../../src/proxy/memory-relief.js';
import { findTool, freePort, pinned, start, stop, waitForPort, type Pinning, type Proc } from './procs.js';

export type Scenario = 'h1' | 'h1-2k' | 'h2c' | 'tcp' | 'tcp-echo';

export const SCENARIOS: Record<Scenario, string> = {
  h1: 'HTTP/1.1 keep-alive (wrk)',
  'h1-2k': 'HTTP/1.1 keep-alive at a fixed 2,000 req/s (h2load --h1 --rps): latency, not throughput',
  h2c: 'HTTP/2 cleartext, prior knowledge (h2load)',
  tcp: 'opaque TCP, HTTP/1.1 requests through a TCP-only path (wrk)',
  'tcp-echo': 'opaque TCP, bulk bytes to an echo server and back (bench echo client)',
};

export interface UpstreamPorts { http: number; h2c: number; echo: number }

/** The upstream port a scenario's traffic ends at. */
export function upstreamFor(s: Scenario, u: UpstreamPorts): number {
  return s === 'h2c' ? u.h2c : s === 'tcp-echo' ? u.echo : u.http; // h1, h1-2k, tcp: the HTTP/1 server
}

export interface Running {
  port: number;
  /** The process to measure (RSS, CPU); null for "direct". */
  proc: Proc | null;
  /** Extra facts worth keeping (e.g. ebb's "listening" line). */
  info?: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface Ctx {
  pin: Pinning;
  tmp: string;
  /** When set, ebb runs under `node --cpu-prof` and writes its profile into this folder. */
  profileDir: string | null;
}

export interface Target {
  name: string;
  what: string;
  scenarios: Scenario[];
  /** null when usable; otherwise why not and how to get it. */
  missing(s: Scenario): string | null;
  start(ctx: Ctx, s: Scenario, upstreamPort: number): Promise<Running>;
}

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url)); // dist/bench/
// EBB_BENCH_BIN points the bench at another build of ebb (a second worktree, a release) to compare.
const EBB_BIN = process.env.EBB_BENCH_BIN ?? fileURLToPath(new URL('../../../bin/ebb.js', import.meta.url));
export const APT_HINT = 'apt-get install -y wrk nghttp2-client haproxy nginx-light';
const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export async function startProcess(ctx: Ctx, port: number, cmd: string, args: string[], onLine?: (l: string) => void, env?: NodeJS.ProcessEnv): Promise<Running> {
  const [c, a] = pinned(ctx.pin, 'proxy', cmd, args);
  const proc = start(c, a, { onLine, env });
  try {
    await waitForPort(port, proc);
  } catch (err) {
    await stop(proc, 500);
    throw err;
  }
  return { port, proc, stop: () => stop(proc) };
}

const direct: Target = {
  name: 'direct',
  what: 'no proxy: the load generator talks to the upstream itself',
  scenarios: ['h1', 'h1-2k', 'h2c', 'tcp', 'tcp-echo'],
  missing: () => null,
  start: async (_ctx, _s, upstreamPort) => ({ port: upstreamPort, proc: null, stop: async () => {} }),
};

/** `ebb proxy` with extra flags (`ebb`: as configured by default, the fast HTTP/1 engine; `ebb-node`: --http1-engine node). */
function ebbTarget(name: string, what: string, extra: string[], scenarios: Scenario[]): Target {
  return {
    name,
    what,
    scenarios,
    missing: () => (existsSync(EBB_BIN) ? null : `${EBB_BIN} not found`),
    start: async (ctx, s, upstreamPort) => {
      const port = await freePort();
      const admin = await freePort();
      // A profile left by an earlier run must not pass for this one's.
      if (ctx.profileDir) rmSync(join(ctx.profileDir, `${name}-${s}.cpuprofile`), { force: true });
      const prof = ctx.profileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir, '--cpu-prof-name', `${name}-${s}.cpuprofile`] : [];
      const args = [...prof, EBB_BIN, 'proxy', '--app-port', String(upstreamPort), '--inbound-port', String(port), '--admin-port', String(admin), '--log-level', 'warn', ...extra];
      if (s === 'tcp' || s === 'tcp-echo') args.push('--opaque-ports', String(upstreamPort));
      const info: Record<string, unknown> = {};
      const r = await startProcess(ctx, port, process.execPath, args, (line) => {
        if (line.includes('"msg":"listening"')) {
          try { info.listening = JSON.parse(line); } catch { /* not JSON after all */ }
        }
      }, IMAGE_ENV); // as the image runs it
      return { ...r, info };
    },
  };
}

const ebb = ebbTarget('ebb', '`ebb proxy` (this repository), log level warn; --opaque-ports for the TCP scenarios', [], ['h1', 'h1-2k', 'h2c', 'tcp', 'tcp-echo']);
// Only the HTTP/1 scenarios differ between the engines.
const ebbNode = ebbTarget('ebb-node', 'the same with --http1-engine node (the node:http + undici engine, before issue 16)', ['--http1-engine', 'node'], ['h1', 'h1-2k']);

/** One HAProxy frontend → backend pair: listen on 127.0.0.1:port, forward to 127.0.0.1:appPort. */
export interface PeerRoute { port: number; appPort: number; h2?: boolean }

/**
 * An HAProxy config: one thread, a frontend and backend per route (`proto h2` on both sides when
 * route.h2), HTTP keep-alive both sides, or `mode tcp`. `timeouts` replaces the defaults below.
 */
export function haproxyConfig(routes: PeerRoute[], o: { tcp?: boolean; timeouts?: Record<string, string> } = {}): string {
  const timeouts = o.timeouts ?? { connect: '5s', client: '120s', server: '120s', tunnel: '120s' };
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    `  mode ${o.tcp ? 'tcp' : 'http'}`,
    ...Object.entries(timeouts).map(([k, v]) => `  timeout ${k} ${v}`),
    ...(o.tcp ? [] : ['  option http-keep-alive', '  http-reuse always']),
    ...routes.flatMap((r, i) => {
      const h2 = r.h2 ? ' proto h2' : '';
      return [
        `frontend fe${i}`,
        `  bind 127.0.0.1:${r.port}${h2}`,
        `  default_backend be${i}`,
        `backend be${i}`,
        `  server app 127.0.0.1:${r.appPort}${h2}`,
      ];
    }),
    '',
  ].join('\n');
}

const haproxy: Target = {
  name: 'haproxy',
  what: 'HAProxy, 1 thread, HTTP keep-alive both sides (h2 both sides for h2c), mode tcp for TCP',
  scenarios: ['h1', 'h1-2k', 'h2c', 'tcp', 'tcp-echo'],
  missing: () => (findTool('haproxy') ? null : `haproxy not installed (${APT_HINT})`),
  start: async (ctx, s, upstreamPort) => {
    const port = await freePort();
    const cfg = haproxyConfig([{ port, appPort: upstreamPort, h2: s === 'h2c' }], { tcp: s === 'tcp' || s === 'tcp-echo' });
    const file = join(ctx.tmp, `haproxy-${s}.cfg`);
    writeFileSync(file, cfg);
    return startProcess(ctx, port, findTool('haproxy')!, ['-db', '-f', file]);
  },
};

/**
 * An nginx config in dir: one process (`master_process off`, 1 worker, so its pid is the one to
 * measure), upstream keep-alive pool, HTTP/1.1 to the upstream; `listen … http2` (h2c with prior
 * knowledge) when route.h2, since nginx speaks only HTTP/1 to an upstream; the stream module for TCP.
 * `http` lines go into the http block (before the servers), `location` directives into each location.
 */
export function nginxConfig(dir: string, routes: PeerRoute[], o: { tcp?: boolean; http?: string[]; location?: string } = {}): string {
  return [
    ...(o.tcp ? [`load_module ${NGINX_STREAM_MODULE};`] : []),
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 20000; }',
    o.tcp
      ? `stream { ${routes.map((r) => `server { listen 127.0.0.1:${r.port}; proxy_pass 127.0.0.1:${r.appPort}; }`).join(' ')} }`
      : [
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
        ...(o.http ?? ['  keepalive_timeout 120s;', '  keepalive_requests 1000000;']),
        ...routes.flatMap((r, i) => [
          `  upstream app${i} { server 127.0.0.1:${r.appPort}; keepalive 128; keepalive_requests 1000000; }`,
          `  server { listen 127.0.0.1:${r.port}${r.h2 ? ' http2' : ''};`,
          `    location / { proxy_pass http://app${i}; proxy_http_version 1.1; proxy_set_header Connection "";${o.location ? ` ${o.location}` : ''} }`,
          '  }',
        ]),
        '}',
      ].join('\n'),
    '',
  ].join('\n');
}

const nginx: Target = {
  name: 'nginx',
  what: 'nginx, 1 worker (master_process off), upstream keepalive pool, HTTP/1.1 to upstream; stream module for TCP',
  // nginx cannot speak h2c to an upstream, so it sits out the HTTP/2 scenario.
  scenarios: ['h1', 'h1-2k', 'tcp', 'tcp-echo'],
  missing: (s) => {
    if (!findTool('nginx')) return `nginx not installed (${APT_HINT})`;
    if ((s === 'tcp' || s === 'tcp-echo') && !existsSync(NGINX_STREAM_MODULE)) return 'nginx stream module not installed (apt-get install -y libnginx-mod-stream)';
    return null;
  },
  start: async (ctx, s, upstreamPort) => {
    const port = await freePort();
    const dir = join(ctx.tmp, `nginx-${s}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, nginxConfig(dir, [{ port, appPort: upstreamPort }], { tcp: s === 'tcp' || s === 'tcp-echo' }));
    return startProcess(ctx, port, findTool('nginx')!, ['-p', dir, '-e', `${dir}/error.log`, '-c', file]);
  },
};

function nodePeer(name: string, what: string, script: string, scenarios: Scenario[]): Target {
  return {
    name,
    what,
    scenarios,
    missing: () => null,
    start: async (ctx, _s, upstreamPort) => {
      const port = await freePort();
      return startProcess(ctx, port, process.execPath, [join(BENCH_DIR, 'peers', script), String(port), String(upstreamPort)]);
    },
  };
}

const fastify = nodePeer('fastify', '@fastify/http-proxy with defaults (undici upstream), logger off', 'fastify-proxy.js', ['h1']);
const undici = nodePeer('undici', 'minimal node:http server + undici Pool.stream (bench/peers/undici-proxy.ts)', 'undici-proxy.js', ['h1']);
const pipe = nodePeer('pipe', 'raw Node net socket pipe (bench/peers/tcp-pipe.ts)', 'tcp-pipe.js', ['tcp', 'tcp-echo']);
const h2fwd = nodePeer('h2fwd', 'bare node:http2 forwarder, one upstream session (bench/peers/h2-forwarder.ts)', 'h2-forwarder.js', ['h2c']);

export const TARGETS: Target[] = [direct, ebb, ebbNode, haproxy, nginx, fastify, undici, h2fwd, pipe];
