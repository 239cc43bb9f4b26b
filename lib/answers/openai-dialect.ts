// OpenAI's error dialect, the one every client of the balancer reads today: our own errors as
// `{"error":{"message","type","code"}}`, and ModelScope's error bodies (`{"errors":{"message":…}}`, plain text, HTML),
// which OpenAI clients cannot read (they report "429 status code (no body)"), reshaped into it, keeping ModelScope's
// message and request id. Success bodies are never touched.
import { readErrorBody, upstreamFallbackCode } from '../dialect/error-reading.js';
import type { ErrorDialect } from './dialect.js';
import type { BalancerErrorCode } from './error-codes.js';

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

/**
 * The body to send for an upstream error answer: OpenAI-shaped, with our
 * `code` where we know what happened. Bodies already OpenAI-shaped pass
 * unchanged but for a `code` filled in when they have none, so every error a
 * client sees carries one; JSON we can't read passes unchanged.
 */
function openAiErrorBody(status: number, body: Buffer, code: BalancerErrorCode | undefined): Buffer {
  const found = readErrorBody(body);
  if (!found) return body;
  const fallback = upstreamFallbackCode(status);
  if ('error' in found) {
    const given = found.error.code;
    if ((typeof given === 'string' && given !== '') || typeof given === 'number') return body;
    return Buffer.from(JSON.stringify({ ...found, error: { ...found.error, code: code ?? fallback } }));
  }
  const error: Record<string, string> = {
    message: found.message ?? `The upstream answered ${status}.`,
    type: errorType(status),
    code: code ?? found.code ?? fallback,
  };
  if (found.requestId) error.request_id = found.requestId;
  return Buffer.from(JSON.stringify({ error }));
}

/** OpenAI's error shape, for every path. */
export const OPENAI_DIALECT: ErrorDialect = {
  name: 'openai',
  errorBody(status, code, message) {
    return JSON.stringify({ error: { message, type: errorType(status), code } });
  },
  streamError(status, code, message) {
    return `data: ${this.errorBody(status, code, message)}\n\n`;
  },
  upstreamError: openAiErrorBody,
};
