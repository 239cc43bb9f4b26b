// ModelScope's answers as the imitation writes them: JSON with a correct
// Content-Length, and the error bodies ModelScope sends. The Anthropic path
// sends the same bodies as the chat path: ModelScope does not document what
// its Anthropic endpoint answers, and bodies that are not Anthropic-shaped are
// the case a client (or the balancer) must cope with.
import type { ServerResponse } from 'node:http';

/** ModelScope's answer to a used-up points balance (`QuotaLimitExceed`, as its hub API documents). */
export const BALANCE_EXHAUSTED_BODY = {
  errors: { code: 'QuotaLimitExceed', message: 'magicube balance exhausted', request_id: 'fake-request' },
};
/** ModelScope's 429 body, the same for a short rate limit and a used-up day. */
export const LIMIT_BODY = { errors: { message: 'Request limit exceeded.', request_id: 'fake-request' } };

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request body's fields (none for JSON that is not an object; an empty body is `{}`), or undefined: not JSON. */
export function parseBody(body: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8') || '{}');
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return undefined;
  }
}

/** The `model` a request body names, if any. */
export function modelOf(body: Buffer): string | undefined {
  const model = parseBody(body)?.model;
  return typeof model === 'string' ? model : undefined;
}
