import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream, OutgoingHttpHeaders } from 'node:http2';

/**
 * The one place that turns a proxying failure into what the client sees, in the protocol's own
 * terms: an HTTP status, or for gRPC a grpc-status with a message. Every error response carries
 * `ebb-proxy-error: <cause>` so a client (and a test) can tell the proxy's answer from the app's.
 */
export type ProxyErrorCause =
  | 'upstream_refused' // the app is not listening
  | 'upstream_reset' // the app closed or reset the connection before answering
  | 'upstream_timeout' // the app did not answer in time (connect or response headers)
  | 'shutting_down' // the proxy is draining and takes no new requests
  | 'upstream_error' // anything else between the proxy and the app
  // The client's own request is at fault: answered by the proxy, never forwarded.
  | 'bad_request' // malformed or ambiguous (400; HTTP/2: also host differing from :authority)
  | 'request_timeout' // the request head did not arrive within --request-header-timeout (408)
  | 'uri_too_long' // the request target is over the header line limit (414)
  | 'headers_too_large'; // over --max-header-count, --max-header-line-bytes or --max-header-bytes (431)

export const PROXY_ERROR_HEADER = 'ebb-proxy-error';

interface WireError { readonly status: number; readonly grpcStatus: number; readonly message: string }

const WIRE: Record<ProxyErrorCause, WireError> = {
  upstream_refused: { status: 502, grpcStatus: 14, message: 'the app refused the connection' },
  upstream_reset: { status: 502, grpcStatus: 14, message: 'the app reset the connection' },
  upstream_timeout: { status: 504, grpcStatus: 4, message: 'the app did not answer in time' },
  shutting_down: { status: 503, grpcStatus: 14, message: 'the proxy is shutting down' },
  upstream_error: { status: 502, grpcStatus: 14, message: 'error talking to the app' },
  bad_request: { status: 400, grpcStatus: 13, message: 'bad request' },
  request_timeout: { status: 408, grpcStatus: 4, message: 'the request head took too long' },
  uri_too_long: { status: 414, grpcStatus: 13, message: 'request target too long' },
  headers_too_large: { status: 431, grpcStatus: 13, message: 'request header fields too large' },
};

/** Classifies an error from the upstream side (node:net, node:http, node:http2 or undici). */
export function classifyUpstreamError(err: unknown): ProxyErrorCause {
  const e = err as { code?: string; cause?: unknown } | null;
  // HTTP/2 streams pending on a session that failed to connect carry the session's error as cause.
  if (e?.code === 'ERR_HTTP2_STREAM_CANCEL' && e.cause) return classifyUpstreamError(e.cause);
  const code = e?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'upstream_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'ERR_HTTP2_STREAM_ERROR':
    case 'ERR_HTTP2_GOAWAY_SESSION':
    case 'ERR_HTTP2_SESSION_ERROR':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'upstream_reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'upstream_timeout';
    default:
      return 'upstream_error';
  }
}

export function httpStatusFor(cause: ProxyErrorCause): number {
  return WIRE[cause].status;
}

/** HTTP/1: an error response, when nothing of the response has been sent yet. */
export function writeHttp1Error(res: ServerResponse, cause: ProxyErrorCause, detail?: string): void {
  const w = WIRE[cause];
  const body = `ebb: ${w.message}${detail ? ` (${detail})` : ''}\n`;
  res.writeHead(w.status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    [PROXY_ERROR_HEADER]: cause,
  });
  res.end(body);
}

/**
 * HTTP/1: the raw bytes of an error answer written straight to a socket whose parser failed (no
 * ServerResponse exists), always closing the connection: its framing can no longer be trusted.
 */
export function http1ErrorBytes(cause: ProxyErrorCause): string {
  const w = WIRE[cause];
  const body = `ebb: ${w.message}\n`;
  return `HTTP/1.1 ${w.status} ${STATUS_TEXT[w.status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${PROXY_ERROR_HEADER}: ${cause}\r\n\r\n${body}`;
}
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/**
 * HTTP/1 (fast engine): an error answer as bytes, the same as writeHttp1Error's; `connection` is
 * the Connection header the engine decided (close, or keep-alive with its timeout).
 */
export function http1ErrorResponse(cause: ProxyErrorCause, detail: string | undefined, connection: string): string {
  const w = WIRE[cause];
  const body = `ebb: ${w.message}${detail ? ` (${detail})` : ''}\n`;
  return `HTTP/1.1 ${w.status} ${STATUS_TEXT[w.status] ?? ''}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${PROXY_ERROR_HEADER}: ${cause}\r\n${connection}\r\n${body}`;
}

export function isGrpc(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.startsWith('application/grpc');
}

/**
 * HTTP/2: an error response on a stream that has not responded yet. gRPC clients get a
 * trailers-only response (HTTP 200 + grpc-status), which is how gRPC reports a failed call.
 */
export function respondHttp2Error(stream: ServerHttp2Stream, cause: ProxyErrorCause, grpc: boolean, detail?: string): number {
  const w = WIRE[cause];
  const message = `ebb: ${w.message}${detail ? ` (${detail})` : ''}`;
  if (stream.destroyed || stream.headersSent) return 0;
  if (grpc) {
    const headers: OutgoingHttpHeaders = {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(w.grpcStatus),
      'grpc-message': grpcPercentEncode(message),
      [PROXY_ERROR_HEADER]: cause,
    };
    stream.respond(headers, { endStream: true });
    return 200;
  }
  stream.respond({ ':status': w.status, 'content-type': 'text/plain; charset=utf-8', [PROXY_ERROR_HEADER]: cause });
  stream.end(`${message}\n`);
  return w.status;
}

/** grpc-message encoding (gRPC over HTTP/2 spec): percent-encode '%' and bytes outside 0x20–0x7E. */
function grpcPercentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
