/**
 * InjectConfig: one defaults table, one validator that reports every problem at once, frozen
 * result. The same table maps each setting to its CLI flag and its `config.ebb.io/<flag>`
 * annotation, so a template annotation overrides exactly the flag of the same name.
 */
import { VERSION } from '../version.js';
import { atLeast, parseKubeVersion } from '../kube-version.js';
import type { InjectConfig, ProxyResources, SidecarMode } from './types.js';
import { parseAutoWait } from './app-wait.js';
import { parseCidrList, parsePortList } from '../init/options.js';

export const CONFIG_ANNOTATION_PREFIX = 'config.ebb.io/';

export const DEFAULT_INJECT_CONFIG: InjectConfig = Object.freeze({
  mode: 'native',
  proxyImage: `ebb:${VERSION}`,
  waitBeforeExitSeconds: 0,
  kubeVersion: '1.31',
  adminPort: 4191,
  inboundPort: 4143,
  drainTimeoutSeconds: null,
  withdrawTimeoutSeconds: null,
  logLevel: null,
  // From `npm run bench`: RSS 57 MB idle, 66–115 MB at its peak under load (docs/inject.md, "Resources").
  // The request covers the loaded peak; the limit leaves twice that for bursts (large bodies, many
  // connections), so the kernel does not OOM-kill the proxy mid-drain.
  resources: Object.freeze({ cpuRequest: '10m', memoryRequest: '128Mi', cpuLimit: null, memoryLimit: '256Mi' }),
  awaitTimeout: '2m',
  jobExit: 'watch',
  injectedBy: `ebb inject ${VERSION}`,
  proxyVersion: VERSION,
  transparent: true,
  appWait: 'none',
  proxyWaitAuto: null,
  initImage: null,
  skipInboundPorts: null,
  skipOutboundPorts: null,
  skipOutboundCidrs: null,
} satisfies InjectConfig);

type Parsed = { ok: true; value: unknown } | { ok: false; problem: string };

interface Setting {
  /** The CLI flag and the annotation suffix (config.ebb.io/<flag>). */
  readonly flag: string;
  readonly apply: (c: MutableConfig, v: unknown) => void;
  readonly parse: (raw: string) => Parsed;
}

type MutableConfig = { -readonly [K in keyof InjectConfig]: InjectConfig[K] } & { resources: ProxyResources };

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function nonNegativeInteger(raw: string): Parsed {
  const t = raw.trim();
  if (!/^-?[0-9]+(\.[0-9]*)?$/.test(t) && !/^-?\.[0-9]+$/.test(t)) return { ok: false, problem: 'not a number' };
  const n = Number(t);
  if (n < 0) return { ok: false, problem: 'negative values are not allowed' };
  if (!Number.isInteger(n)) return { ok: false, problem: 'must be a whole number of seconds' };
  if (n > 2_147_483_647) return { ok: false, problem: 'too large' };
  return { ok: true, value: n };
}

function port(raw: string): Parsed {
  const r = nonNegativeInteger(raw);
  if (!r.ok) return r;
  const n = r.value as number;
  if (n < 1 || n > 65535) return { ok: false, problem: 'must be a port between 1 and 65535' };
  return r;
}

/** A list `ebb init` accepts (its own parser), kept as written; empty = none. */
function initList(parse: (raw: string, what: string, problems: string[]) => unknown[], example: string): (raw: string) => Parsed {
  return (raw) => {
    const problems: string[] = [];
    parse(raw, 'value', problems);
    if (problems.length) return { ok: false, problem: `${problems.join('; ').replace(/^value: /, '')} (a comma-separated list like ${example})` };
    const t = raw.split(',').map((x) => x.trim()).filter(Boolean).join(',');
    return { ok: true, value: t === '' ? null : t };
  };
}

function quantity(raw: string): Parsed {
  const t = raw.trim();
  if (t === '' || t === 'none') return { ok: true, value: null };
  if (!QUANTITY.test(t)) return { ok: false, problem: 'not a Kubernetes quantity (e.g. 100m, 64Mi), or "none"' };
  return { ok: true, value: t };
}

export function kubeAtLeast(version: string, major: number, minor: number): boolean {
  const v = parseKubeVersion(version);
  return v !== undefined && atLeast(v, major, minor);
}

/** Every setting a flag or a `config.ebb.io/…` annotation can change. */
export const SETTINGS: readonly Setting[] = [
  {
    flag: 'mode',
    parse: (raw) => (raw === 'native' || raw === 'classic') ? { ok: true, value: raw } : { ok: false, problem: 'must be native or classic' },
    apply: (c, v) => { c.mode = v as SidecarMode; },
  },
  { flag: 'proxy-image', parse: (raw) => raw.trim() ? { ok: true, value: raw.trim() } : { ok: false, problem: 'must not be empty' }, apply: (c, v) => { c.proxyImage = v as string; } },
  { flag: 'wait-before-exit-seconds', parse: nonNegativeInteger, apply: (c, v) => { c.waitBeforeExitSeconds = v as number; } },
  {
    flag: 'kube-version',
    parse: (raw) => parseKubeVersion(raw) !== undefined ? { ok: true, value: raw.trim().replace(/^v/, '') } : { ok: false, problem: 'must look like 1.31' },
    apply: (c, v) => { c.kubeVersion = v as string; },
  },
  { flag: 'admin-port', parse: port, apply: (c, v) => { c.adminPort = v as number; } },
  { flag: 'inbound-port', parse: port, apply: (c, v) => { c.inboundPort = v as number; } },
  { flag: 'drain-timeout-seconds', parse: nonNegativeInteger, apply: (c, v) => { c.drainTimeoutSeconds = v as number; } },
  { flag: 'withdraw-timeout-seconds', parse: nonNegativeInteger, apply: (c, v) => { c.withdrawTimeoutSeconds = v as number; } },
  {
    flag: 'proxy-log-level',
    parse: (raw) => ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(raw) ? { ok: true, value: raw } : { ok: false, problem: 'must be trace, debug, info, warn, error, fatal or silent' },
    apply: (c, v) => { c.logLevel = v as string; },
  },
  { flag: 'proxy-cpu-request', parse: quantity, apply: (c, v) => { c.resources.cpuRequest = v as string | null; } },
  { flag: 'proxy-memory-request', parse: quantity, apply: (c, v) => { c.resources.memoryRequest = v as string | null; } },
  { flag: 'proxy-cpu-limit', parse: quantity, apply: (c, v) => { c.resources.cpuLimit = v as string | null; } },
  { flag: 'proxy-memory-limit', parse: quantity, apply: (c, v) => { c.resources.memoryLimit = v as string | null; } },
  {
    flag: 'job-exit',
    parse: (raw) => ['watch', 'await', 'none'].includes(raw.trim()) ? { ok: true, value: raw.trim() } : { ok: false, problem: 'must be watch, await or none' },
    apply: (c, v) => { c.jobExit = v as InjectConfig['jobExit']; },
  },
  {
    flag: 'transparent',
    parse: (raw) => ['true', 'false'].includes(raw.trim()) ? { ok: true, value: raw.trim() === 'true' } : { ok: false, problem: 'must be true or false' },
    apply: (c, v) => { c.transparent = v as boolean; },
  },
  { flag: 'skip-inbound-ports', parse: initList(parsePortList, '22,8000-8010'), apply: (c, v) => { c.skipInboundPorts = v as string | null; } },
  { flag: 'skip-outbound-ports', parse: initList(parsePortList, '5432,6379'), apply: (c, v) => { c.skipOutboundPorts = v as string | null; } },
  { flag: 'skip-outbound-cidrs', parse: initList(parseCidrList, '10.0.0.0/8,169.254.169.254'), apply: (c, v) => { c.skipOutboundCidrs = v as string | null; } },
  { flag: 'init-image', parse: (raw) => raw.trim() ? { ok: true, value: raw.trim() } : { ok: false, problem: 'must not be empty' }, apply: (c, v) => { c.initImage = v as string; } },
  { flag: 'await-timeout', parse: (raw) => /^[0-9]+(ms|s|m|h)?$/.test(raw.trim()) ? { ok: true, value: raw.trim() } : { ok: false, problem: 'must be a duration like 2m or 90s' }, apply: (c, v) => { c.awaitTimeout = v as string; } },
  {
    flag: 'app-wait',
    parse: (raw) => ['auto', 'none'].includes(raw.trim()) ? { ok: true, value: raw.trim() } : { ok: false, problem: 'must be auto or none' },
    apply: (c, v) => { c.appWait = v as 'auto' | 'none'; },
  },
  { flag: 'wait-before-exit', parse: parseAutoWait, apply: (c, v) => { c.proxyWaitAuto = v as string; } },
];

export interface ConfigProblem { readonly flag: string; readonly value: string; readonly problem: string }

function thaw(base: InjectConfig): MutableConfig {
  return { ...base, resources: { ...base.resources } };
}

function freeze(c: MutableConfig): InjectConfig {
  return Object.freeze({ ...c, resources: Object.freeze({ ...c.resources }) });
}

/**
 * Applies raw string settings keyed by flag name (`{ 'wait-before-exit-seconds': '40' }`) on top of
 * `base`. Returns every problem, or the frozen config.
 */
export function applySettings(base: InjectConfig, raw: Readonly<Record<string, string | undefined>>):
  { config: InjectConfig; problems: readonly ConfigProblem[] } {
  const c = thaw(base);
  const problems: ConfigProblem[] = [];
  for (const s of SETTINGS) {
    const value = raw[s.flag];
    if (value === undefined) continue;
    const r = s.parse(String(value));
    if (r.ok) s.apply(c, r.value);
    else problems.push({ flag: s.flag, value: String(value), problem: r.problem });
  }
  return { config: freeze(c), problems };
}

/** Builds a config from defaults plus raw flag values; throws nothing, returns problems. */
export function resolveInjectConfig(raw: Readonly<Record<string, string | undefined>> = {}, extra: Partial<Pick<InjectConfig, 'injectedBy'>> = {}):
  { config: InjectConfig; problems: readonly ConfigProblem[] } {
  const base = extra.injectedBy ? freeze({ ...thaw(DEFAULT_INJECT_CONFIG), injectedBy: extra.injectedBy }) : DEFAULT_INJECT_CONFIG;
  return applySettings(base, raw);
}

/** The `config.ebb.io/<flag>` annotations of a map, as raw settings keyed by flag. */
export function overridesFromAnnotations(annotations: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!annotations) return out;
  for (const s of SETTINGS) {
    const v = annotations[CONFIG_ANNOTATION_PREFIX + s.flag];
    if (v !== undefined && v !== null) out[s.flag] = String(v);
  }
  return out;
}

/** Help text for each setting's flag (the same words document the annotation in docs/inject.md). */
export const SETTING_HELP: Readonly<Record<string, string>> = {
  'mode': `sidecar mode: native (init container with restartPolicy Always) or classic (first regular container) (default ${DEFAULT_INJECT_CONFIG.mode})`,
  'proxy-image': `proxy image (default ${DEFAULT_INJECT_CONFIG.proxyImage})`,
  'wait-before-exit-seconds': 'classic mode: seconds the proxy keeps serving after the pod is deleted, before TERM (default 0)',
  'kube-version': `target Kubernetes version; >= 1.30 uses the preStop sleep action, else exec ebb sleep (default ${DEFAULT_INJECT_CONFIG.kubeVersion})`,
  'admin-port': `proxy admin port for probes (default ${DEFAULT_INJECT_CONFIG.adminPort})`,
  'inbound-port': `first inbound listen port; app port i is served on this + i (default ${DEFAULT_INJECT_CONFIG.inboundPort})`,
  'drain-timeout-seconds': 'proxy drain deadline after TERM (default: the proxy\'s 30, lowered to fit what the grace period leaves at the proxy\'s TERM)',
  'withdraw-timeout-seconds': 'classic mode (written with an auto wait): how long the proxy may keep accepting after its wait, with /ready 503, so a last replica (KEP-1669) is withdrawn before connects are refused (default: fitted, up to 13 s of what the grace period leaves; 0 = none)',
  'proxy-log-level': 'proxy log level (default: the proxy\'s info)',
  'proxy-cpu-request': `proxy CPU request, or none (default ${DEFAULT_INJECT_CONFIG.resources.cpuRequest})`,
  'proxy-memory-request': `proxy memory request, or none (default ${DEFAULT_INJECT_CONFIG.resources.memoryRequest})`,
  'proxy-cpu-limit': 'proxy CPU limit, or none (default none)',
  'proxy-memory-limit': `proxy memory limit, or none (default ${DEFAULT_INJECT_CONFIG.resources.memoryLimit})`,
  'transparent': 'true: add the ebb-init init container (iptables, NET_ADMIN + NET_RAW) and run the proxy with --transparent, so inbound and outbound TCP go through it (docs/init.md; default true). false: the proxy only sees traffic sent to its ebb-in-<port> ports, so each Service must target those',
  'skip-inbound-ports': 'with --transparent: inbound ports (22,8000-8010) the ebb-init rules leave alone, so their traffic reaches the app without the proxy (ebb init --skip-inbound-ports; default none)',
  'skip-outbound-ports': 'with --transparent: outbound destination ports the app reaches directly, not through the proxy (ebb init --skip-outbound-ports; default none)',
  'skip-outbound-cidrs': 'with --transparent: outbound destination CIDRs the app reaches directly (ebb init --skip-outbound-cidrs), e.g. 169.254.169.254/32 for a cloud metadata service (default none)',
  'init-image': 'with --transparent: the ebb-init image, which must contain iptables (default: the proxy image\'s repository + "-init", same tag: ebb:1.2 → ebb-init:1.2; the Dockerfile\'s `init` target)',
  'await-timeout': `classic mode: how long the postStart hook waits for the proxy to be ready (default ${DEFAULT_INJECT_CONFIG.awaitTimeout})`,
  'app-wait': `auto: app containers without a preStop get an httpGet preStop to the proxy's /wait-quiet, so they get TERM only once inbound traffic has stopped; none: no hook (default ${DEFAULT_INJECT_CONFIG.appWait})`,
  'wait-before-exit': 'the proxy\'s own wait, auto or auto:MIN:QUIET:MAX: keep serving after TERM until inbound traffic is quiet for QUIET s, between MIN and MAX s (default: none, the fixed --wait-before-exit-seconds)',
  'job-exit': `classic-mode Jobs/CronJobs: how the proxy leaves when the app is done: watch (shareProcessNamespace + EBB_EXIT_WHEN_APP_EXITS), await (wrap each app command in \`ebb await --shutdown --\`; ebb must be in the app image) or none (default ${DEFAULT_INJECT_CONFIG.jobExit})`,
};

/** ebb's own keys under config.ebb.io/ that are not settings (the webhook's opt-out label). */
const NON_SETTING_KEYS: readonly string[] = ['admission-webhooks'];

/**
 * The `config.ebb.io/…` annotations of a map that name no setting (a typo is otherwise silently
 * ignored, and the workload gets the default it was meant to override), each with the closest
 * setting's flag when one is close enough to be the likely intent.
 */
export function unknownSettingAnnotations(annotations: Readonly<Record<string, unknown>> | undefined): { annotation: string; suggestion?: string }[] {
  if (!annotations) return [];
  const flags = SETTINGS.map((s) => s.flag);
  const out: { annotation: string; suggestion?: string }[] = [];
  for (const key of Object.keys(annotations)) {
    if (!key.startsWith(CONFIG_ANNOTATION_PREFIX)) continue;
    const name = key.slice(CONFIG_ANNOTATION_PREFIX.length);
    if (flags.includes(name) || NON_SETTING_KEYS.includes(name)) continue;
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const f of flags) {
      const d = editDistance(name.toLowerCase(), f);
      if (d < bestDistance) { bestDistance = d; best = f; }
    }
    // Close enough to be a typo: a few edits, or the setting's name inside it (plural, prefix).
    const close = best !== undefined && (bestDistance <= Math.max(2, Math.floor(best.length / 4)) || name.includes(best) || best.includes(name));
    out.push(close ? { annotation: key, suggestion: CONFIG_ANNOTATION_PREFIX + best } : { annotation: key });
  }
  return out;
}

/** Levenshtein distance (insert, delete, substitute), for the "did you mean" above. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
