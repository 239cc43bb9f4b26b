import type { OnRefused } from '../engine/access.js';
import type { Logger } from './logger.js';

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
