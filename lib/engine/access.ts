// Who may use the pool: a proxied request presents one of `accessTokens`, as `Authorization: Bearer` or
// `x-api-key` (the Anthropic SDK's header), compared in constant time. Checked before a request is let in (the
// engine's admission): a refused one never starts, never spends a key, and is logged at most once per interval.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../answers/send.js';

/** Hashing first gives equal-length inputs, so the comparison's time says nothing about length either. */
export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The token a client presented, as `Authorization: Bearer …` or `x-api-key`. */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (match) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey.trim() : undefined;
}

/**
 * Compares `candidate` with every token, in constant time, with no early exit:
 * neither which token matched nor how much of one did shows in the timing.
 */
export function matchesAny(candidate: string | undefined, tokens: readonly Buffer[]): boolean {
  const presented = digest(candidate ?? '');
  let matched = 0;
  for (const token of tokens) matched |= timingSafeEqual(presented, token) ? 1 : 0;
  return candidate !== undefined && matched === 1;
}

/** A check that lets a request through (true) or answers it with 401 (false). */
export type TokenCheck = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Called for each refused request (to log it, rate-limited, without the token). */
export type OnRefused = (req: IncomingMessage, code: 'invalid_access_token' | 'invalid_admin_token') => void;

export function tokenGuard(
  tokens: readonly string[],
  realm: string,
  code: 'invalid_access_token' | 'invalid_admin_token',
  message: string,
  onRefused?: OnRefused,
): TokenCheck {
  const digests = tokens.map(digest);
  return function requireToken(req, res) {
    if (matchesAny(presentedToken(req.headers), digests)) return true;
    onRefused?.(req, code);
    sendError(res, 401, code, message, { 'www-authenticate': `Bearer realm="${realm}"` });
    return false;
  };
}

/** Every proxied request must present one of `accessTokens`. */
export function requireAccessToken(tokens: readonly string[], onRefused?: OnRefused) {
  return tokenGuard(
    tokens,
    'modelscope-balance',
    'invalid_access_token',
    'Missing or wrong access token: send `Authorization: Bearer <access token>` (or x-api-key) issued by the ' +
      'operator of this balancer.',
    onRefused,
  );
}
