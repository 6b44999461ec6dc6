import { createRequire } from 'node:module';
import { METHODS } from 'node:http';

/**
 * Node's own llhttp parser, the one node:http parses every message with, reached through
 * `_http_common` (the module node:http itself builds its parsers from). It is not a documented API:
 * `loadLlhttp()` checks its shape and returns null when this Node has none, and `--http1-engine
 * fast` then refuses to start (config) rather than guess. Using it rather than a parser of our
 * own keeps the fast engine exactly as strict as node:http: the same llhttp, initialised the
 * same way (no lenient flags, the same header-size limit), refusing the same bytes.
 */
export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenientFlags: number): void;
  /** Bytes parsed, or the parse error (with `code`, e.g. HPE_HEADER_OVERFLOW, and `bytesParsed`). */
  execute(data: Buffer): number | LlhttpError;
  /** End of input: completes a close-delimited message, or the error for a message cut short. */
  finish(): undefined | LlhttpError;
  close(): void;
  [callback: number]: unknown;
}
export type LlhttpError = Error & { code?: string; reason?: string; bytesParsed?: number };

export interface Llhttp {
  readonly Parser: new () => LlhttpParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnMessageBegin: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kLenientNone: number;
  /** The method name for llhttp's method number (as node:http maps it). */
  readonly methods: readonly string[];
}

let cached: Llhttp | null | undefined;

export function loadLlhttp(): Llhttp | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: Record<string, unknown> & (new () => LlhttpParser) };
    const P = common.HTTPParser;
    const keys = ['REQUEST', 'RESPONSE', 'kOnMessageBegin', 'kOnHeaders', 'kOnHeadersComplete', 'kOnBody', 'kOnMessageComplete', 'kLenientNone'];
    if (typeof P !== 'function' || keys.some((k) => typeof P[k] !== 'number')) return null;
    const ll = {
      Parser: P, REQUEST: P.REQUEST as number, RESPONSE: P.RESPONSE as number,
      kOnMessageBegin: P.kOnMessageBegin as number, kOnHeaders: P.kOnHeaders as number, kOnHeadersComplete: P.kOnHeadersComplete as number,
      kOnBody: P.kOnBody as number, kOnMessageComplete: P.kOnMessageComplete as number, kLenientNone: P.kLenientNone as number,
      methods: probeMethods(P, P.REQUEST as number, P.kOnHeadersComplete as number),
    };
    if (ll.methods[1] !== 'GET') return null; // not the parser this module was written against
    cached = ll;
  } catch {
    cached = null;
  }
  return cached;
}

/**
 * llhttp reports a method as a number; node's table of them is internal, so it is rebuilt once by
 * parsing one request line per method node:http knows.
 */
function probeMethods(P: new () => LlhttpParser, REQUEST: number, kOnHeadersComplete: number): string[] {
  const out: string[] = [];
  for (const m of METHODS) {
    const p = new P();
    p.initialize(REQUEST, {}, 0, 0);
    let index = -1;
    p[kOnHeadersComplete] = (_maj: number, _min: number, _h: unknown, method: number): number => { index = method; return 0; };
    p.execute(Buffer.from(`${m} / HTTP/1.1\r\nHost: a\r\n\r\n`, 'latin1'));
    if (index >= 0) out[index] = m;
    p.close();
  }
  return out;
}
