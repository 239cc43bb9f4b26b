// When a failed attempt may be passed to the next key. Following nginx's
// `non_idempotent` rule: once a POST has been sent whole, a timeout or reset
// may mean the upstream is generating already, and resending it spends quota
// twice (and a slow model is not a broken key).
import type { AttemptOutcome } from './chosen-answer.js';
import type { ResolvedConfig } from '../options/resolve-options.js';

const IDEMPOTENT = new Set(['GET', 'HEAD']);

export function failoverAllowed(outcome: AttemptOutcome, method: string, retry: ResolvedConfig['retry']): boolean {
  if (outcome.failure) {
    switch (outcome.failure) {
      // The request never reached the upstream.
      case 'connect':
      case 'connect_timeout':
        return true;
      case 'aborted':
        return false;
      case 'reset':
        // A reused keep-alive socket that the upstream had closed: it never saw the request.
        if (!outcome.freshSocket) return true;
        break;
      default:
    }
    return retry.timeouts === 'always' || IDEMPOTENT.has(method) || !outcome.sentWhole;
  }
  const status = outcome.response?.statusCode ?? 0;
  return status === 401 || status === 403 || retry.on.has(status);
}

/**
 * Whether a client's resend of this failed attempt would repeat a generation: a POST (any method but GET and HEAD)
 * that reached the upstream whole and then timed out or was reset. Such answers say `x-should-retry: false`, since
 * the OpenAI SDKs resend 5xx twice by default. A connection that never opened, or a reused socket the upstream had
 * closed, never reached it: a resend is harmless there.
 */
export function resendRepeatsGeneration(outcome: AttemptOutcome, method: string): boolean {
  if (!outcome.failure || !outcome.sentWhole || IDEMPOTENT.has(method)) return false;
  switch (outcome.failure) {
    case 'connect':
    case 'connect_timeout':
    case 'aborted':
      return false;
    case 'reset':
      return outcome.freshSocket === true;
    default:
      return true;
  }
}
