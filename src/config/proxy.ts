import { ConfigError } from '../errors.js';
import { loadLlhttp } from '../proxy/llhttp.js';
import { LOG_LEVELS, type LogFormat } from '../log.js';
import type { LevelWithSilent } from 'pino';
import { parseWaitBeforeExit, type WaitSpec } from '../drain/waiting.js';
import {
  parseBoolean, parseChoice, parseInboundPair, parsePort, parsePortList, parsePositiveInt, parseSeconds, parseWholeNumber,
  type InboundPair, type Parsed,
} from './values.js';

/**
 * `ebb proxy` configuration: one table of options (flag, env var, default), parsed from flags and
 * EBB_* env (flags win), validated once with every problem collected, then frozen. Nothing binds a
 * port before this succeeds. docs/proxy.md documents each row.
 *
 * To add an option: add a row to PROXY_OPTIONS, a field to ProxyConfig, and read it in
 * loadProxyConfig. The CLI builds its flags from this table.
 */
export interface ProxyOption {
  /** flag name without dashes, e.g. "app-port" */
  readonly name: string;
  readonly env: string;
  /** commander's value placeholder; '' = a boolean switch */
  readonly arg: string;
  readonly default: string | undefined;
  readonly repeatable?: boolean;
  readonly description: string;
}

export const PROXY_OPTIONS: readonly ProxyOption[] = [
  { name: 'app-port', env: 'EBB_APP_PORT', arg: '<port>', default: undefined,
    description: 'the app listens on 127.0.0.1:PORT; inbound traffic is forwarded there (required unless --inbound)' },
  { name: 'inbound-port', env: 'EBB_INBOUND_PORT', arg: '<port>', default: '4143',
    description: 'port of the inbound listener that forwards to --app-port' },
  { name: 'inbound', env: 'EBB_INBOUND', arg: '<listen:app>', default: undefined, repeatable: true,
    description: 'an extra inbound listener LISTEN:APP (repeatable; env: comma-separated "4143:8080,4144:9090"); `none` for a pod that takes no inbound traffic (a Job, a worker): admin and outbound only' },
  { name: 'inbound-host', env: 'EBB_INBOUND_HOST', arg: '<addr>', default: '0.0.0.0',
    description: 'address the inbound listeners bind' },
  { name: 'admin-port', env: 'EBB_ADMIN_PORT', arg: '<port>', default: '4191',
    description: 'port of the admin server (/live /ready /metrics /state /shutdown), bound on 0.0.0.0' },
  { name: 'opaque-ports', env: 'EBB_OPAQUE_PORTS', arg: '<list>', default: '',
    description: 'app ports proxied as plain TCP without protocol detection, e.g. "3306,6379,8000-8010"' },
  { name: 'wait-before-exit', env: 'EBB_WAIT_BEFORE_EXIT', arg: '<seconds|auto[:MIN:QUIET:MAX]>', default: '0',
    description: 'after TERM, keep serving as normal this long before draining; auto: until no new inbound connection or request for QUIET s, between MIN and MAX s (auto = auto:2:2:25)' },
  { name: 'withdraw-timeout', env: 'EBB_WITHDRAW_TIMEOUT', arg: '<seconds>', default: '0',
    description: 'after the wait, answer /ready 503 but keep accepting (Connection: close, GOAWAY) until no new inbound connection or request for the quiet period (the auto wait\'s QUIET, else 2 s), at most this long: Kubernetes withdraws a last serving endpoint (KEP-1669) before connects are refused; 0 = stop accepting when the wait ends' },
  { name: 'drain-timeout', env: 'EBB_DRAIN_TIMEOUT', arg: '<seconds>', default: '30',
    description: 'how long draining may take before the rest is closed by force and the proxy exits' },
  { name: 'upstream-timeout', env: 'EBB_UPSTREAM_TIMEOUT', arg: '<seconds>', default: '0',
    description: 'time the app has to send response headers before the client gets 504 (0 = no limit)' },
  // HTTP/1 limits against careless and hostile clients (issue 11; docs/proxy.md "HTTP/1 limits"
  // gives each one's HAProxy and nginx equivalent). Defaults: the stricter of the two.
  { name: 'request-header-timeout', env: 'EBB_REQUEST_HEADER_TIMEOUT', arg: '<seconds>', default: '10',
    description: 'HTTP/1: time a client has to send a whole request head (from its connect, or its previous request) before it gets 408 and is closed' },
  { name: 'keepalive-timeout', env: 'EBB_KEEPALIVE_TIMEOUT', arg: '<seconds>', default: '10',
    description: 'HTTP/1: an idle keep-alive client connection is closed after this long' },
  { name: 'max-header-count', env: 'EBB_MAX_HEADER_COUNT', arg: '<n>', default: '100',
    description: 'HTTP/1: header fields a request may have; more get 431' },
  { name: 'max-header-bytes', env: 'EBB_MAX_HEADER_BYTES', arg: '<bytes>', default: '15360',
    description: 'HTTP/1: bytes a request head may have in all; more get 431' },
  { name: 'max-header-line-bytes', env: 'EBB_MAX_HEADER_LINE_BYTES', arg: '<bytes>', default: '8192',
    description: 'HTTP/1: bytes one header line (or the request target: 414) may have; more get 431' },
  { name: 'max-pipelined', env: 'EBB_MAX_PIPELINED', arg: '<n>', default: '16',
    description: 'HTTP/1: requests read from one client connection and not yet answered; at this many the proxy stops reading from it until one is answered' },
  { name: 'max-app-connections-per-client', env: 'EBB_MAX_APP_CONNECTIONS_PER_CLIENT', arg: '<n>', default: '1',
    description: 'HTTP/1: requests of one client connection forwarded to the app at once, each on its own app connection; pipelined ones wait their turn' },
  { name: 'http1-engine', env: 'EBB_HTTP1_ENGINE', arg: '<engine>', default: 'fast',
    description: 'HTTP/1 engine: fast (node\'s llhttp on raw bytes, pooled app connections; issue 16) or node (node:http server + undici pool); both behave the same. Left unset on a Node whose llhttp cannot be reached, node' },
  { name: 'shutdown-endpoint', env: 'EBB_SHUTDOWN_ENDPOINT', arg: '', default: 'false',
    description: 'enable POST /shutdown on the admin server (loopback clients only)' },
  // Jobs (issue 5, docs/jobs.md): leave when the app's processes are gone (shareProcessNamespace).
  { name: 'exit-when-app-exits', env: 'EBB_EXIT_WHEN_APP_EXITS', arg: '', default: 'false',
    description: 'watch /proc (needs shareProcessNamespace: true) and shut down like on TERM once the app\'s processes are gone' },
  { name: 'app-exit-settle', env: 'EBB_APP_EXIT_SETTLE', arg: '<seconds>', default: '5',
    description: 'with --exit-when-app-exits: how long the app must be gone before the proxy leaves (bridges a container restart)' },
  // Transparent interception (issue 7, docs/init.md): behind `ebb init`'s iptables rules.
  { name: 'transparent', env: 'EBB_TRANSPARENT', arg: '', default: 'false',
    description: 'run behind `ebb init` rules: inbound forwards to 127.0.0.1:<original port>, outbound listener carries the app\'s outbound TCP' },
  { name: 'outbound-port', env: 'EBB_OUTBOUND_PORT', arg: '<port>', default: '4140',
    description: 'port of the outbound listener on 127.0.0.1 (with --transparent)' },
  { name: 'proxy-uid', env: 'EBB_PROXY_UID', arg: '<uid>', default: '2102',
    description: 'the uid `ebb init` exempts from redirection; the proxy warns when it runs as another uid (with --transparent)' },
  { name: 'sidecar-mode', env: 'EBB_SIDECAR_MODE', arg: '<mode>', default: 'classic',
    description: 'native: TERM arrives after the app exited, so outbound closes with inbound; classic: outbound stays open until the app\'s ports refuse connections' },
  // HTTP/2 limits (issue 11, docs/proxy.md "Limits"): per client connection.
  { name: 'h2-max-concurrent-streams', env: 'EBB_H2_MAX_CONCURRENT_STREAMS', arg: '<n>', default: '100',
    description: 'HTTP/2 streams a client connection may have open at once (advertised in SETTINGS; more are refused)' },
  { name: 'h2-max-resets', env: 'EBB_H2_MAX_RESETS', arg: '<n>', default: '100',
    description: 'HTTP/2 streams a client connection may reset while the app works on them (or open past the limit) before it gets GOAWAY ENHANCE_YOUR_CALM, once they also outnumber its completed streams' },
  { name: 'h2-stream-buffer', env: 'EBB_H2_STREAM_BUFFER', arg: '<bytes>', default: '64k',
    description: 'HTTP/2 flow-control window per stream, both to the client and to the app: the most one stream buffers in the proxy per direction' },
  { name: 'h2-connection-buffer', env: 'EBB_H2_CONNECTION_BUFFER', arg: '<bytes>', default: '1m',
    description: 'while a client connection\'s stalled streams may hold more than this, its new HTTP/2 streams are refused (REFUSED_STREAM)' },
  // Bounds over all client connections together (docs/proxy.md "Bounds over all connections").
  { name: 'max-buffered-bytes', env: 'EBB_MAX_BUFFERED_BYTES', arg: '<bytes>', default: '32m',
    description: 'bytes the proxy may hold for all clients together that were taken from the app and not yet taken by the client; from 3/4 of it, connections holding bytes get no more from the app until they read; past it, the connections holding the most are closed' },
  { name: 'max-connections', env: 'EBB_MAX_CONNECTIONS', arg: '<n>', default: '2000',
    description: 'inbound client connections open at once, over every inbound listener; one past it is closed as soon as it is accepted' },
  { name: 'log-level', env: 'EBB_LOG_LEVEL', arg: '<level>', default: 'info',
    description: `log level: ${LOG_LEVELS.join(', ')}` },
  { name: 'log-format', env: 'EBB_LOG_FORMAT', arg: '<format>', default: 'json',
    description: 'log format: json or pretty (logs go to stderr)' },
];

export interface ProxyConfig {
  /** Every inbound listener: --app-port (on --inbound-port) first, then each --inbound pair. */
  readonly inbound: readonly InboundPair[];
  readonly inboundHost: string;
  readonly adminPort: number;
  readonly opaquePorts: ReadonlySet<number>;
  /** Issue 5: shut down once the app's processes (seen via a shared PID namespace) are gone. */
  readonly exitWhenAppExits: boolean;
  readonly appExitSettleSeconds: number;
  readonly waitBeforeExit: WaitSpec;
  readonly drainTimeoutSeconds: number;
  /** --withdraw-timeout: withdrawing's bound (0: none); see src/drain WithdrawOptions. */
  readonly withdrawTimeoutSeconds: number;
  readonly upstreamTimeoutSeconds: number;
  readonly shutdownEndpoint: boolean;
  /** HTTP/1 limits (issue 11), each a PROXY_OPTIONS row. */
  readonly http1: Http1Limits;
  /** Which HTTP/1 engine serves client connections (http1.ts or http1-fast.ts). */
  readonly http1Engine: 'node' | 'fast';
  readonly logLevel: LevelWithSilent;
  readonly logFormat: LogFormat;
  /** --transparent: the inbound listener is on `inboundPort` and finds each connection's app port itself. */
  readonly transparent: boolean;
  readonly inboundPort: number;
  readonly outboundPort: number;
  readonly proxyUid: number;
  readonly sidecarMode: 'native' | 'classic';
  /** HTTP/2 limits per client connection (issue 11). */
  readonly h2: H2Limits;
  /** --max-buffered-bytes: the budget for bytes held for clients that do not read (src/proxy/budget.ts). */
  readonly maxBufferedBytes: number;
  /** --max-connections: inbound client connections at once. */
  readonly maxConnections: number;
}

export interface H2Limits {
  readonly maxConcurrentStreams: number;
  readonly maxResets: number;
  readonly streamBuffer: number;
  readonly connectionBuffer: number;
}

export interface Http1Limits {
  readonly requestHeaderTimeoutSeconds: number;
  readonly keepAliveTimeoutSeconds: number;
  readonly maxHeaderCount: number;
  readonly maxHeaderBytes: number;
  readonly maxHeaderLineBytes: number;
  readonly maxPipelined: number;
  readonly maxAppConnectionsPerClient: number;
}

/** Raw values as commander hands them over: strings, string[] for repeatable, true for bare switches. */
export type RawFlags = Readonly<Record<string, string | string[] | boolean | undefined>>;

/** Commander's camelCase key for a flag name ("app-port" → "appPort"). */
export function flagKey(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

export function loadProxyConfig(flags: RawFlags, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const problems: string[] = [];

  /** The raw value for an option, with where it came from, or undefined. */
  const raw = (opt: ProxyOption): { value: string | string[]; from: string } | undefined => {
    const f = flags[flagKey(opt.name)];
    if (f !== undefined && f !== false) return { value: f === true ? 'true' : f, from: `--${opt.name}` };
    const e = env[opt.env];
    if (e !== undefined && e !== '') {
      return { value: opt.repeatable ? e.split(',').map((s) => s.trim()).filter(Boolean) : e, from: opt.env };
    }
    return opt.default === undefined ? undefined : { value: opt.default, from: 'default' };
  };
  const get = <T>(name: string, parse: (s: string) => Parsed<T>): T | undefined => {
    const opt = PROXY_OPTIONS.find((o) => o.name === name);
    if (!opt) throw new Error(`unknown proxy option ${name}`);
    const r = raw(opt);
    if (r === undefined) return undefined;
    const s = Array.isArray(r.value) ? r.value.join(',') : r.value;
    const p = parse(s);
    if (p.ok) return p.value;
    problems.push(`${r.from === 'default' ? `--${name}` : r.from}: ${p.problem}`);
    return undefined;
  };
  const getList = <T>(name: string, parse: (s: string) => Parsed<T>): T[] => {
    const opt = PROXY_OPTIONS.find((o) => o.name === name)!;
    const r = raw(opt);
    if (r === undefined) return [];
    const out: T[] = [];
    for (const s of Array.isArray(r.value) ? r.value : [r.value]) {
      const p = parse(s);
      if (p.ok) out.push(p.value);
      else problems.push(`${r.from}: ${p.problem}`);
    }
    return out;
  };

  const given = (name: string): boolean => raw(PROXY_OPTIONS.find((o) => o.name === name)!) !== undefined;
  const appPort = get('app-port', parsePort);
  if (appPort === 0) problems.push('--app-port: must not be 0 (the app listens on a real port)');
  const inboundPort = get('inbound-port', parsePort);
  // `--inbound none` says on purpose that nothing listens inbound (a Job, a queue worker), so a
  // forgotten --app-port is still caught below.
  const inboundRaw = raw(PROXY_OPTIONS.find((o) => o.name === 'inbound')!);
  const noInbound = inboundRaw !== undefined && [inboundRaw.value].flat().join(',').trim() === 'none';
  const pairs = noInbound ? [] : getList('inbound', parseInboundPair);
  const inboundHost = get('inbound-host', (s) => (s.trim() ? { ok: true, value: s.trim() } : { ok: false, problem: 'empty address' }));
  const adminPort = get('admin-port', parsePort);
  const opaquePorts = get('opaque-ports', parsePortList);
  const waitBeforeExit = get('wait-before-exit', parseWaitBeforeExit);
  const drainTimeout = get('drain-timeout', parseSeconds);
  const withdrawTimeout = get('withdraw-timeout', parseSeconds);
  const upstreamTimeout = get('upstream-timeout', parseSeconds);
  const shutdownEndpoint = get('shutdown-endpoint', parseBoolean);
  const http1 = {
    requestHeaderTimeoutSeconds: get('request-header-timeout', parseSeconds)!,
    keepAliveTimeoutSeconds: get('keepalive-timeout', parseSeconds)!,
    maxHeaderCount: get('max-header-count', parsePositiveInt)!,
    maxHeaderBytes: get('max-header-bytes', parsePositiveInt)!,
    maxHeaderLineBytes: get('max-header-line-bytes', parsePositiveInt)!,
    maxPipelined: get('max-pipelined', parsePositiveInt)!,
    maxAppConnectionsPerClient: get('max-app-connections-per-client', parsePositiveInt)!,
  };
  let http1Engine = get('http1-engine', (s) => parseChoice(s, ['node', 'fast'] as const));
  if (http1Engine === 'fast' && !loadLlhttp()) {
    // The default falls back; asked for by name, it is refused.
    if (!given('http1-engine')) http1Engine = 'node';
    else problems.push('--http1-engine fast: this Node has no llhttp parser reachable through _http_common; use --http1-engine node');
  }
  const logLevel = get('log-level', (s) => parseChoice(s, LOG_LEVELS));
  const logFormat = get('log-format', (s) => parseChoice(s, ['json', 'pretty'] as const));
  const transparent = get('transparent', parseBoolean);
  const outboundPort = get('outbound-port', parsePort);
  const proxyUid = get('proxy-uid', (s) => (/^\d+$/.test(s.trim()) ? { ok: true, value: Number(s.trim()) } : { ok: false, problem: `"${s}" is not a numeric user id` }));
  const sidecarMode = get('sidecar-mode', (s) => parseChoice(s, ['native', 'classic'] as const));
  const exitWhenAppExits = get('exit-when-app-exits', parseBoolean);
  const appExitSettle = get('app-exit-settle', parseSeconds);
  const h2MaxStreams = get('h2-max-concurrent-streams', (s) => parseWholeNumber(s, 1));
  const h2MaxResets = get('h2-max-resets', (s) => parseWholeNumber(s, 0));
  // HTTP/2 windows are 1..2^31-1 bytes; below 1 KiB a stream would crawl.
  const h2StreamBuffer = get('h2-stream-buffer', (s) => parseWholeNumber(s, 1024, true));
  const h2ConnectionBuffer = get('h2-connection-buffer', (s) => parseWholeNumber(s, 1024, true));
  // At least one HTTP/1 socket read (64 KiB): below it, one ordinary chunk would not fit.
  const maxBufferedBytes = get('max-buffered-bytes', (s) => parseWholeNumber(s, 65536, true));
  const maxConnections = get('max-connections', (s) => parseWholeNumber(s, 1));

  const inbound: InboundPair[] = [];
  if (appPort !== undefined && appPort !== 0 && inboundPort !== undefined) inbound.push({ listenPort: inboundPort, appPort });
  inbound.push(...pairs);
  if (!given('app-port') && !given('inbound') && !transparent) {
    problems.push('no app to forward to: give --app-port N (EBB_APP_PORT) or --inbound LISTEN:APP (EBB_INBOUND), or --inbound none for a pod that takes no inbound traffic');
  }
  const seen = new Set<number>();
  for (const { listenPort } of inbound) {
    if (listenPort !== 0 && seen.has(listenPort)) problems.push(`inbound listen port ${listenPort} is used twice`);
    seen.add(listenPort);
  }
  if (adminPort !== undefined && adminPort !== 0 && seen.has(adminPort)) {
    problems.push(`--admin-port ${adminPort} is also an inbound listen port`);
  }
  if (transparent && outboundPort !== undefined && outboundPort !== 0 && [inboundPort, adminPort].includes(outboundPort)) {
    problems.push(`--outbound-port ${outboundPort} is also the inbound or admin port`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    inbound: Object.freeze(inbound.map((p) => Object.freeze(p))),
    inboundHost: inboundHost!,
    adminPort: adminPort!,
    opaquePorts: opaquePorts!,
    waitBeforeExit: Object.freeze(waitBeforeExit!),
    drainTimeoutSeconds: drainTimeout!,
    withdrawTimeoutSeconds: withdrawTimeout!,
    upstreamTimeoutSeconds: upstreamTimeout!,
    shutdownEndpoint: shutdownEndpoint!,
    http1: Object.freeze(http1),
    http1Engine: http1Engine!,
    logLevel: logLevel!,
    logFormat: logFormat!,
    transparent: transparent!,
    inboundPort: inboundPort!,
    outboundPort: outboundPort!,
    proxyUid: proxyUid!,
    sidecarMode: sidecarMode!,
    exitWhenAppExits: exitWhenAppExits!,
    appExitSettleSeconds: appExitSettle!,
    h2: Object.freeze({
      maxConcurrentStreams: h2MaxStreams!, maxResets: h2MaxResets!, streamBuffer: h2StreamBuffer!, connectionBuffer: h2ConnectionBuffer!,
    }),
    maxBufferedBytes: maxBufferedBytes!,
    maxConnections: maxConnections!,
  });
}
