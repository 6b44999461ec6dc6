/**
 * admission.k8s.io/v1 AdmissionReview: the types the API server sends and expects back, and the
 * one function that turns a request body into a checked request (or an AdmissionReviewError → 400).
 * Reference: https://kubernetes.io/docs/reference/config-api/apiserver-admission.v1/
 */
import type { Operation } from 'fast-json-patch';
import { AdmissionReviewError } from '../errors.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionKind { group: string; version: string; kind: string }
export interface GroupVersionResource { group: string; version: string; resource: string }

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: string;
  userInfo?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
  options?: unknown;
}

export interface AdmissionStatus { code?: number; message: string; reason?: string }

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  patch?: string;
  patchType?: 'JSONPatch';
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks a request body; every problem is an AdmissionReviewError (HTTP 400). */
export function decodeAdmissionReview(body: Buffer | string): AdmissionRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    throw new AdmissionReviewError('invalid_json', `request body is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new AdmissionReviewError('not_an_object', 'request body is not a JSON object');
  if (parsed.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError('wrong_kind', `expected kind AdmissionReview, got ${JSON.stringify(parsed.kind ?? null)}`);
  }
  if (parsed.apiVersion !== ADMISSION_API_VERSION) {
    throw new AdmissionReviewError('unsupported_version',
      `unsupported apiVersion ${JSON.stringify(parsed.apiVersion ?? null)}: this webhook speaks ${ADMISSION_API_VERSION}`);
  }
  const req = parsed.request;
  if (!isObject(req)) throw new AdmissionReviewError('missing_request', 'AdmissionReview has no request');
  if (typeof req.uid !== 'string' || req.uid === '') {
    throw new AdmissionReviewError('missing_uid', 'AdmissionReview request has no uid');
  }
  const kind = req.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string') {
    throw new AdmissionReviewError('missing_kind', 'AdmissionReview request.kind must be {group, version, kind}');
  }
  if (typeof req.operation !== 'string' || req.operation === '') {
    throw new AdmissionReviewError('missing_operation', 'AdmissionReview request has no operation');
  }
  if (req.namespace !== undefined && typeof req.namespace !== 'string') {
    throw new AdmissionReviewError('invalid_namespace', 'AdmissionReview request.namespace must be a string');
  }
  return {
    ...(req as unknown as AdmissionRequest),
    kind: { group: typeof kind.group === 'string' ? kind.group : '', version: kind.version, kind: kind.kind },
  };
}

/** The API server accepts a JSONPatch as base64 of its JSON text. */
export function encodePatch(patch: readonly Operation[]): string {
  return Buffer.from(JSON.stringify(patch), 'utf8').toString('base64');
}

/** Kubernetes asks for warnings of at most 120 characters; longer ones may be truncated anyway. */
export const MAX_WARNING_CHARS = 120;

export function shortWarning(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_WARNING_CHARS ? oneLine : `${oneLine.slice(0, MAX_WARNING_CHARS - 1)}…`;
}

export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
