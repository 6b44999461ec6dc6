/**
 * Hop-by-hop header handling per RFC 9110 §7.6.1: Connection, the fields it names, and the
 * fields that only ever describe one hop (Keep-Alive, Proxy-Connection, TE, Transfer-Encoding,
 * Upgrade) are not forwarded. Each hop frames its own message.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/**
 * Names listed in a Connection header value ("close, x-foo" → ["x-foo"]; close/keep-alive are not
 * fields). Host is never one: it is end-to-end by definition, and a client naming it
 * (`Connection: keep-alive, host`) must not make the app see the proxy's address instead.
 */
function connectionNamed(value: string): string[] {
  const out: string[] = [];
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive' && t !== 'host') out.push(t);
  }
  return out;
}

/**
 * Filters a flat [name, value, name, value…] list (node's rawHeaders) into a new flat list for the
 * next hop. Fast path: no Connection header naming extra fields, which is almost every request.
 */
export function forwardableRawHeaders(raw: readonly string[]): string[] {
  let extra: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const named = connectionNamed(raw[i + 1]!);
      if (named.length) (extra ??= []).push(...named);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (extra !== null && extra.includes(lower))) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/**
 * Request variant: also tells whether a body follows (Content-Length > 0 or Transfer-Encoding),
 * read in the same pass, so the hot path never builds node's lazy `req.headers` object.
 */
export function forwardableRequestHeaders(raw: readonly string[]): { headers: string[]; hasBody: boolean } {
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === 14 && n.toLowerCase() === 'content-length') { if (raw[i + 1]!.trim() !== '0') hasBody = true; }
    else if (n.length === 17 && n.toLowerCase() === 'transfer-encoding') hasBody = true;
  }
  return { headers: forwardableRawHeaders(raw), hasBody };
}

/** Same for response headers as undici delivers them (Buffers), converted to strings for node:http. */
export function forwardableRawBufferHeaders(raw: readonly Buffer[]): string[] {
  const strings: string[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) strings[i] = raw[i]!.toString('latin1');
  return forwardableRawHeaders(strings);
}

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}
