// OpenAI's error dialect, the one every client of the balancer reads today: our own errors as
// `{"error":{"message","type","code"}}`, and ModelScope's error bodies (`{"errors":{"message":…}}`, plain text, HTML),
// which OpenAI clients cannot read (they report "429 status code (no body)"), reshaped into it, keeping ModelScope's
// message and request id. Success bodies are never touched.
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

interface Found {
  message?: string;
  requestId?: string;
  code?: string;
}

const MAX_MESSAGE = 2000;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.slice(0, MAX_MESSAGE) : undefined;
}

/** An OpenAI-shaped error (`{"error":{"message":…}}`) as parsed, or undefined. */
type OpenAiShaped = { error: Record<string, unknown> };

/**
 * What a ModelScope-style or plain body says; an OpenAI-shaped body as it is (to fill in a missing `code`);
 * undefined for JSON we can't read.
 */
function readBody(body: Buffer): Found | OpenAiShaped | undefined {
  const raw = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Text or HTML (a gateway's error page): its first line, without markup.
    const plain = raw
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return { message: text(plain) };
  }
  if (typeof parsed !== 'object' || parsed === null) return { message: text(String(parsed)) };
  const record = parsed as Record<string, unknown>;
  const openAi = record.error;
  if (typeof openAi === 'object' && openAi !== null && typeof (openAi as { message?: unknown }).message === 'string')
    return record as OpenAiShaped;
  const errors = record.errors;
  if (typeof errors === 'object' && errors !== null) {
    const inner = errors as Record<string, unknown>;
    return {
      message: text(inner.message),
      requestId: text(inner.request_id) ?? text(record.request_id),
      code: text(inner.code),
    };
  }
  if (typeof openAi === 'string' || typeof record.message === 'string') {
    return {
      message: text(openAi) ?? text(record.message),
      requestId: text(record.request_id),
      code: text(record.code),
    };
  }
  return undefined;
}

/**
 * The body to send for an upstream error answer: OpenAI-shaped, with our
 * `code` where we know what happened. Bodies already OpenAI-shaped pass
 * unchanged but for a `code` filled in when they have none, so every error a
 * client sees carries one; JSON we can't read passes unchanged.
 */
function openAiErrorBody(status: number, body: Buffer, code: BalancerErrorCode | undefined): Buffer {
  const found = readBody(body);
  if (!found) return body;
  const fallback = status >= 500 ? 'upstream_error' : 'upstream_rejected';
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
