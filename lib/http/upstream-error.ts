// ModelScope's error bodies (`{"errors":{"message":…}}`, plain text, HTML)
// are not what OpenAI clients read: they report "429 status code (no body)".
// An upstream error that reaches the client is answered OpenAI-shaped,
// keeping ModelScope's message and request id. Success bodies are never touched.
import { readErrorBody, upstreamFallbackCode } from '../dialect/error-reading.js';
import { errorType, type BalancerErrorCode } from './error-response.js';

/**
 * The body to send for an upstream error answer: OpenAI-shaped, with our
 * `code` where we know what happened. Bodies already OpenAI-shaped pass
 * unchanged but for a `code` filled in when they have none, so every error a
 * client sees carries one; JSON we can't read passes unchanged.
 */
export function openAiErrorBody(status: number, body: Buffer, code: BalancerErrorCode | undefined): Buffer {
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
