// The balancer's own answer when no key can take a request now, with what an
// OpenAI SDK needs to decide whether to retry: Retry-After for a short wait,
// `x-should-retry: false` when nothing will change soon.
import type { ServerResponse } from 'node:http';
import type { NoKeyReason } from '../pool/pool.js';
import { isoTime } from '../views/iso-time.js';
import type { ErrorDialect } from './dialect.js';
import { sendError } from './send.js';

/** Tells OpenAI SDKs (Node and Python) not to retry: waiting for a daily reset or a new token takes hours. */
export const DONT_RETRY = { 'x-should-retry': 'false' } as const;

export function answerNoKey(
  res: ServerResponse,
  reason: NoKeyReason,
  now: number,
  headers: Record<string, string>,
  dialect: ErrorDialect,
): void {
  if (reason.kind === 'empty') {
    sendError(
      res,
      503,
      'no_keys',
      'The pool has no keys: every key was removed. Add one (POST /admin/keys, addKey) or reload the keys file.',
      { ...headers, ...DONT_RETRY },
      dialect,
    );
    return;
  }
  if (reason.kind === 'unavailable') {
    sendError(
      res,
      503,
      'no_key_available',
      'No API key can take requests now: every key is unhealthy. See /stats.',
      headers,
      dialect,
    );
    return;
  }
  if (reason.kind === 'refused') {
    sendError(
      res,
      503,
      'pool_keys_refused',
      'ModelScope refuses every API key of this balancer (401/403): the pool needs valid tokens, your own ' +
        'credentials are not the problem. See /stats.',
      { ...headers, ...DONT_RETRY },
      dialect,
    );
    return;
  }
  if (reason.kind === 'cooling') {
    const seconds = secondsUntil(reason.retryAt, now);
    sendError(
      res,
      429,
      'all_keys_cooling',
      `Every usable API key is rate limited; the first returns in ${seconds} s.`,
      { ...headers, 'retry-after': seconds },
      dialect,
    );
  } else {
    answerUsedUp(
      res,
      reason.retryAt,
      now,
      headers,
      `The daily quota of every API key is used up; it resets at ${isoTime(reason.retryAt)}.`,
      dialect,
    );
  }
}

function secondsUntil(at: number, now: number): string {
  return String(Math.max(1, Math.ceil((at - now) / 1000)));
}

/** 429 `daily_quota_exhausted`: Retry-After until the reset, and no retry before (waiting hours is not a retry). */
export function answerUsedUp(
  res: ServerResponse,
  resetAt: number,
  now: number,
  headers: Record<string, string>,
  message: string,
  dialect: ErrorDialect,
): void {
  const hints = { ...headers, 'retry-after': secondsUntil(resetAt, now), ...DONT_RETRY };
  sendError(res, 429, 'daily_quota_exhausted', message, hints, dialect);
}
