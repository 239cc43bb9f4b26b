import type { IncomingMessage, ServerResponse } from 'node:http';
import { answersInAnthropic, anthropicErrorBody, anthropicStreamErrorEvent } from '../dialect/anthropic.js';

/** Error codes the balancer itself answers with (never the upstream's), in `{"error":{"code"}}`. */
export const BALANCER_ERROR_CODES = [
  'no_key_available',
  'all_keys_cooling',
  'daily_quota_exhausted',
  'upstream_unreachable',
  'upstream_timeout',
  'request_too_large',
  'bad_request',
  'invalid_access_token',
  'invalid_admin_token',
  'bad_path',
  'not_found',
  'stream_interrupted',
  'balancer_closed',
  'internal_error',
  'upstream_answer_too_large',
  'method_not_allowed',
  'server_busy',
  'pool_keys_refused',
  'rate_limited',
  'upstream_error',
  'upstream_rejected',
  'admin_disabled',
  'key_exists',
  'key_not_found',
  'origin_not_allowed',
  'no_keys',
] as const;

export type BalancerErrorCode = (typeof BALANCER_ERROR_CODES)[number];

/**
 * The HTTP status each code is answered with (`'4xx'`, `'5xx'`: the upstream's own; `'any'`: the status it replaces).
 * The README's errors table is checked against it.
 */
export const ERROR_STATUSES: Readonly<Record<BalancerErrorCode, number | '4xx' | '5xx' | 'any'>> = {
  no_key_available: 503,
  all_keys_cooling: 429,
  daily_quota_exhausted: 429,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  request_too_large: 413,
  bad_request: 400,
  invalid_access_token: 401,
  invalid_admin_token: 401,
  bad_path: 400,
  not_found: 404,
  stream_interrupted: 502,
  balancer_closed: 503,
  internal_error: 500,
  upstream_answer_too_large: 'any',
  method_not_allowed: 405,
  server_busy: 503,
  pool_keys_refused: 503,
  rate_limited: 429,
  upstream_error: '5xx',
  upstream_rejected: '4xx',
  admin_disabled: 403,
  key_exists: 409,
  key_not_found: 404,
  origin_not_allowed: 403,
  no_keys: 503,
};

const TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
  502: 'upstream_error',
  503: 'service_unavailable',
  504: 'upstream_error',
};

/** The OpenAI error `type` for a status. */
export function errorType(status: number): string {
  return TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
}

export function errorBody(message: string, code: BalancerErrorCode, status: number): string {
  return JSON.stringify({ error: { message, type: errorType(status), code } });
}

/** Sends a JSON body with a correct Content-Length; works with or without Express. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Answers with an OpenAI-style JSON error, unless the response has already begun. */
export function sendError(
  res: ServerResponse,
  status: number,
  code: BalancerErrorCode,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = answersInAnthropic(res.req)
    ? anthropicErrorBody(status, message, code)
    : errorBody(message, code, status);
  res.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The last SSE event of a stream that broke midway, so clients never take a cut answer for a whole one. */
export function streamErrorEvent(reason: string, req?: IncomingMessage): string {
  const message = `The upstream stream was interrupted (${reason}); the answer is incomplete.`;
  if (answersInAnthropic(req)) return anthropicStreamErrorEvent(message);
  return `data: ${errorBody(message, 'stream_interrupted', 502)}\n\n`;
}
