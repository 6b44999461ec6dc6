/**
 * Parsers for single configuration values. Each returns the value or a problem sentence (never
 * throws), so a config loader can collect every problem and report them together.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/** A TCP port 0–65535 (0 = let the OS pick, which tests use). */
export function parsePort(raw: string): Parsed<number> {
  const s = raw.trim();
  if (!/^\d+$/.test(s)) return bad(`"${raw}" is not a port number (0-65535)`);
  const n = Number(s);
  return n <= 65535 ? ok(n) : bad(`${s} is out of range for a port (0-65535)`);
}

/** Whole or fractional seconds >= 0. */
export function parseSeconds(raw: string): Parsed<number> {
  const s = raw.trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n) || n < 0) return bad(`"${raw}" is not a number of seconds >= 0`);
  return ok(n);
}

export function parseBoolean(raw: string): Parsed<boolean> {
  const s = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return ok(true);
  if (['false', '0', 'no', 'off', ''].includes(s)) return ok(false);
  return bad(`"${raw}" is not a boolean (true or false)`);
}

/** "3306,6379,8000-8010" → a set of ports. */
export function parsePortList(raw: string): Parsed<ReadonlySet<number>> {
  const ports = new Set<number>();
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo > hi || hi > 65535) return bad(`"${part}" is not a valid port range`);
      for (let p = lo; p <= hi; p++) ports.add(p);
      continue;
    }
    const one = parsePort(part);
    if (!one.ok) return bad(`"${part}" in "${raw}" is not a port or a range like 8000-8010`);
    ports.add(one.value);
  }
  return ok(ports);
}

export interface InboundPair { readonly listenPort: number; readonly appPort: number }

/** "4143:8080" → { listenPort: 4143, appPort: 8080 }. */
export function parseInboundPair(raw: string): Parsed<InboundPair> {
  const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(raw);
  if (!m) return bad(`"${raw}" is not LISTEN:APP (e.g. 4143:8080)`);
  const listen = parsePort(m[1]!);
  const app = parsePort(m[2]!);
  if (!listen.ok) return bad(`listen port in "${raw}": ${listen.problem}`);
  if (!app.ok) return bad(`app port in "${raw}": ${app.problem}`);
  if (app.value === 0) return bad(`app port in "${raw}" must not be 0`);
  return ok({ listenPort: listen.value, appPort: app.value });
}

export function parseChoice<T extends string>(raw: string, choices: readonly T[]): Parsed<T> {
  const s = raw.trim() as T;
  return choices.includes(s) ? ok(s) : bad(`"${raw}" is not one of ${choices.join(', ')}`);
}

/** A whole number >= 1 (a count or a size limit). */
export function parsePositiveInt(raw: string): Parsed<number> {
  const s = raw.trim();
  if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s))) return bad(`"${raw}" is not a whole number >= 1`);
  return ok(Number(s));
}

/** A whole number >= min (a count or a size in bytes); bytes may carry a k or m suffix (1024-based). */
export function parseWholeNumber(raw: string, min: number, bytes = false): Parsed<number> {
  const s = raw.trim().toLowerCase();
  const m = bytes ? /^(\d+)([km]?)$/.exec(s) : /^(\d+)()$/.exec(s);
  if (!m) return bad(`"${raw}" is not a whole number${bytes ? ' of bytes (e.g. 65536, 64k, 1m)' : ''}`);
  const n = Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1024 * 1024 : 1);
  if (n < min) return bad(`${raw.trim()} is below the minimum of ${min}`);
  if (n > 2 ** 31 - 1) return bad(`${raw.trim()} is too large (at most ${2 ** 31 - 1})`);
  return ok(n);
}
