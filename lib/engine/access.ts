import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from '../answers/error-response.js';
import type { Logger } from '../observe/logger.js';

/** Hashing first gives equal-length inputs, so the comparison's time says nothing about length either. */
function digest(text: string): Buffer {
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

function guard(
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
  return guard(
    tokens,
    'modelscope-balance',
    'invalid_access_token',
    'Missing or wrong access token: send `Authorization: Bearer <access token>` (or x-api-key) issued by the ' +
      'operator of this balancer.',
    onRefused,
  );
}

/** /stats and /metrics need the admin token. */
export function requireAdminToken(token: string, onRefused?: OnRefused) {
  return guard(
    [token],
    'modelscope-balance-admin',
    'invalid_admin_token',
    'This route needs the admin token: send `Authorization: Bearer <admin token>`.',
    onRefused,
  );
}

/** The password of an `Authorization: Basic` header (any user name). */
function basicPassword(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec((headers.authorization ?? '').trim());
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/**
 * The status page's guard: a browser can't send a Bearer header, so HTTP
 * Basic with the admin token as the password works too; a missing or wrong
 * one gets 401 with `WWW-Authenticate: Basic`, which makes the browser ask.
 */
export function requireAdminForBrowser(token: string, onRefused?: OnRefused): TokenCheck {
  const digests = [digest(token)];
  return function requireAdminOrBasic(req, res) {
    if (matchesAny(presentedToken(req.headers) ?? basicPassword(req.headers), digests)) return true;
    onRefused?.(req, 'invalid_admin_token');
    sendError(
      res,
      401,
      'invalid_admin_token',
      'The status page needs the admin token: sign in with any user name and the admin token as the password.',
      { 'www-authenticate': 'Basic realm="modelscope-balance status", charset="UTF-8"' },
    );
    return false;
  };
}

/**
 * Logs refused requests with the client's address and never the token, at
 * most one line per `intervalMs` (with how many were left out), so a flood of
 * bad tokens can't flood the log.
 */
export function refusalLogger(logger: Logger, now: () => number = Date.now, intervalMs = 10_000): OnRefused {
  let lastAt = -Infinity;
  let unlogged = 0;
  return function logRefusal(req, code) {
    const at = now();
    if (at - lastAt < intervalMs) {
      unlogged++;
      return;
    }
    logger.warn(
      {
        client: req.socket.remoteAddress,
        method: req.method,
        path: (req.url ?? '/').split('?', 1)[0].slice(0, 200),
        code,
        not_logged_since_last: unlogged,
      },
      code === 'invalid_admin_token'
        ? 'refused a request without the admin token'
        : 'refused a request without a valid access token',
    );
    lastAt = at;
    unlogged = 0;
  };
}
