// The guards of the balancer's own routes: /stats, /metrics and the admin API need the admin token as Bearer; the
// status page takes it as a Basic password too, since a browser can't send a Bearer header.
import type { IncomingHttpHeaders } from 'node:http';
import { sendError } from '../answers/send.js';
import { digest, matchesAny, type OnRefused, presentedToken, type TokenCheck, tokenGuard } from '../engine/access.js';

/** /stats and /metrics need the admin token. */
export function requireAdminToken(token: string, onRefused?: OnRefused) {
  return tokenGuard(
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
