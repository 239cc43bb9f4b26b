// What an upstream error body says, whatever its shape: ModelScope's
// `{"errors":{"message"}}`, OpenAI's `{"error":{"message"}}`, a bare
// `{"message"}`, text or a gateway's HTML page. Each client dialect (OpenAI's,
// Anthropic's) writes what was read in its own shape; reading is shared.
import type { BalancerErrorCode } from '../answers/error-codes.js';

/** What a ModelScope-style, bare or plain-text body says; each part only when it was there. */
export interface FoundError {
  message?: string;
  requestId?: string;
  code?: string;
}

/** An OpenAI-shaped error (`{"error":{"message":…}}`) as parsed. */
export type OpenAiShaped = { error: Record<string, unknown> };

/** Longer messages are cut: an error body is relayed whole, and a runaway one must not grow an answer or a log. */
export const MAX_MESSAGE = 2000;

/** A non-empty string, cut to MAX_MESSAGE; undefined for anything else. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.slice(0, MAX_MESSAGE) : undefined;
}

/** Our code for an upstream error that has none of its own. */
export function upstreamFallbackCode(status: number): BalancerErrorCode {
  return status >= 500 ? 'upstream_error' : 'upstream_rejected';
}

/**
 * What a ModelScope-style or plain body says; an OpenAI-shaped body as it is (to fill in a missing `code`);
 * undefined for JSON we can't read.
 */
export function readErrorBody(body: Buffer): FoundError | OpenAiShaped | undefined {
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
