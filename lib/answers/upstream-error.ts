// ModelScope's error bodies (`{"errors":{"message":…}}`, plain text, HTML)
// are not what OpenAI clients read: they report "429 status code (no body)".
// An upstream error that reaches the client is answered OpenAI-shaped,
// keeping ModelScope's message and request id. Success bodies are never touched.
import { errorType, type BalancerErrorCode } from './error-response.js';

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
export function openAiErrorBody(status: number, body: Buffer, code: BalancerErrorCode | undefined): Buffer {
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
