// Anthropic's Messages API dialect: which requests speak it, and errors in
// the shape its SDKs and Claude Code read, `{"type":"error","error":{"type",
// "message"}}` (https://docs.claude.com/en/api/errors). An SDK given another
// shape still throws the right class (it goes by status) but shows the raw
// JSON as its message and has no `error.type`. Pure functions, no I/O.
import type { IncomingHttpHeaders } from 'node:http';
import type { BalancerErrorCode } from '../answers/error-codes.js';
import { MAX_MESSAGE, readErrorBody, text, upstreamFallbackCode } from './error-reading.js';

/** The Messages API's paths (relative to where the balancer is mounted), with or without a query string. */
const ANTHROPIC_PATH = /^\/v1\/messages(?:\/count_tokens)?(?:\?|$)/;

/** Every Anthropic SDK (and Claude Code) sends this header with every request. */
export const ANTHROPIC_VERSION_HEADER = 'anthropic-version';

/** The error types Anthropic's API answers with, as its SDKs type them. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

/** An Anthropic error body; `error.code` is ours (Anthropic clients ignore it), as on OpenAI-shaped answers. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string; code?: string };
  request_id?: string;
}

/**
 * The type Anthropic documents per status. 504 is `timeout_error` (Anthropic's own for a request that took too
 * long, typed so by `@anthropic-ai/sdk`); 503 is `overloaded_error` like Anthropic's 529 (capacity, try later); 502
 * is `api_error`. Other 4xx are `invalid_request_error` and other 5xx `api_error`, as Anthropic's docs say.
 */
const TYPES: Readonly<Record<number, AnthropicErrorType>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/**
 * Whether a request speaks Anthropic's dialect: the Messages API's paths (`/v1/messages`,
 * `/v1/messages/count_tokens`, relative to the mount point, with or without a query string), or any request carrying
 * `anthropic-version`, which every Anthropic SDK sends.
 */
export function isAnthropicRequest(path: string, headers: IncomingHttpHeaders): boolean {
  return ANTHROPIC_PATH.test(path) || headers[ANTHROPIC_VERSION_HEADER] !== undefined;
}

/** The Anthropic error type for an HTTP status. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

function shaped(status: number, message: string, code?: string, requestId?: string): AnthropicErrorBody {
  const error: AnthropicErrorBody['error'] = { type: anthropicErrorType(status), message };
  if (code) error.code = code;
  return requestId ? { type: 'error', error, request_id: requestId } : { type: 'error', error };
}

/** The JSON text of one of the balancer's own errors in Anthropic's shape, with our code in `error.code`. */
export function anthropicErrorBody(status: number, message: string, code?: BalancerErrorCode): string {
  return JSON.stringify(shaped(status, message, code));
}

/**
 * The last SSE event of an Anthropic stream that broke midway: Anthropic's own `error` event, which the SDKs turn into
 * an APIError (with `error.type`), so a cut answer is never taken for a whole one.
 */
export function anthropicStreamErrorEvent(message: string, code: BalancerErrorCode = 'stream_interrupted'): string {
  return `event: error\ndata: ${anthropicErrorBody(502, message, code)}\n\n`;
}

/** Whether a parsed body is already an Anthropic error: `type: "error"` and an `error` with a string `type`. */
function isAnthropicShaped(parsed: unknown): boolean {
  if (typeof parsed !== 'object' || parsed === null) return false;
  const { type, error } = parsed as { type?: unknown; error?: unknown };
  return (
    type === 'error' &&
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { type?: unknown }).type === 'string'
  );
}

function parse(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The body to send for an upstream error answer on an Anthropic path: an Anthropic-shaped body passes unchanged (the
 * same Buffer); any other (ModelScope's `{"errors":{…}}`, OpenAI's `{"error":{…}}`, text, HTML, JSON of another shape)
 * is wrapped so the SDK reads its message, keeping the upstream's message, request id (as Anthropic's top-level
 * `request_id`) and code. `code` (ours, when we know what happened) wins over the upstream's own; without either the
 * code is `upstream_error` (5xx) or `upstream_rejected` (4xx).
 */
export function toAnthropicErrorBody(status: number, body: Buffer, code?: BalancerErrorCode): Buffer {
  const parsed = parse(body);
  if (isAnthropicShaped(parsed)) return body;
  const found = readErrorBody(body);
  let message: string | undefined;
  let requestId: string | undefined;
  let given: string | undefined;
  if (found === undefined) {
    // JSON of a shape we don't know (`{"detail":…}`): all of it is the message, rather than none of it.
    message = JSON.stringify(parsed).slice(0, MAX_MESSAGE);
  } else if ('error' in found) {
    message = text(found.error.message);
    requestId = text(found.error.request_id) ?? text((found as Record<string, unknown>).request_id);
    given = text(found.error.code) ?? (typeof found.error.code === 'number' ? String(found.error.code) : undefined);
  } else {
    ({ message, requestId, code: given } = found);
  }
  const answer = shaped(
    status,
    message ?? `The upstream answered ${status}.`,
    code ?? given ?? upstreamFallbackCode(status),
    requestId,
  );
  return Buffer.from(JSON.stringify(answer));
}
