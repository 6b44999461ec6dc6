/**
 * What the proxy checks in an HTTP/1 request head before forwarding it, beyond what node's parser
 * already refuses (CL/TE conflicts, obs-fold, NUL/CR, bad tokens, a missing Host): each check is
 * where HAProxy or nginx, the stricter of the two, refuses the same bytes.
 */
export interface RequestHeadLimits {
  /** Header fields per request (HAProxy tune.http.maxhdr 101 incl. the request line: 100 fields). */
  readonly maxHeaderCount: number;
  /** Bytes of one header line or of the request target (nginx large_client_header_buffers 4 8k). */
  readonly maxHeaderLineBytes: number;
}

export type HeadProblem =
  | { readonly status: 400 | 414 | 431; readonly detail: string }
  | null;

/**
 * The path to forward (origin-form, or `*`) or the problem to answer instead. `headerCount` is
 * node's count of header fields, which stops one past the limit (server.maxHeadersCount).
 */
export function checkRequestHead(method: string, url: string, raw: readonly string[], limits: RequestHeadLimits):
  { readonly path: string; readonly problem: null } | { readonly path: null; readonly problem: NonNullable<HeadProblem> } {
  const bad = (status: 400 | 414 | 431, detail: string) => ({ path: null, problem: { status, detail } }) as const;
  if (raw.length / 2 > limits.maxHeaderCount) return bad(431, `more than ${limits.maxHeaderCount} header fields`);
  let hosts = 0;
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length + value.length + 2 > limits.maxHeaderLineBytes) return bad(431, `header ${name.slice(0, 40)} is longer than ${limits.maxHeaderLineBytes} bytes`);
    if (name.length === 4 && name.toLowerCase() === 'host') { hosts++; host = value; }
  }
  // RFC 9112 §3.2: a request with more than one Host field is answered 400 (node accepts it).
  if (hosts > 1) return bad(400, 'more than one Host header');
  if (url.length > limits.maxHeaderLineBytes) return bad(414, `request target longer than ${limits.maxHeaderLineBytes} bytes`);
  // A fragment is never sent (RFC 9110 §4.2.5); HAProxy refuses it, so does the proxy.
  if (url.includes('#')) return bad(400, 'a fragment (#) in the request target');
  if (url.charCodeAt(0) === 0x2f) return { path: url, problem: null };
  if (url === '*') return method === 'OPTIONS' ? { path: url, problem: null } : bad(400, '* is a target only for OPTIONS');
  // Absolute form (RFC 9112 §3.2.2): its authority wins over Host. The app gets origin-form, and
  // a Host that names another authority is refused (as HAProxy does) rather than chosen between.
  const m = /^https?:\/\/([^/?]*)(.*)$/i.exec(url);
  if (!m) return bad(400, 'request target is neither origin-form nor absolute-form');
  if (m[1]!.toLowerCase() !== host.toLowerCase()) return bad(400, 'the absolute-form target names another authority than Host');
  const rest = m[2]!;
  return { path: rest === '' ? '/' : rest.charCodeAt(0) === 0x3f ? `/${rest}` : rest, problem: null };
}
