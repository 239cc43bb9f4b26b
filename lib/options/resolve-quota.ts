// The `quota` options: when the allowance resets, how a used-up allowance is
// told without counters, and the optional balance endpoint (the one host
// besides `target` a key may ever be sent to, so its URL is checked hard).
import { DEFAULTS } from './defaults.js';
import { containsPieceOf } from './key-label.js';
import { describe, fail, httpUrl, positiveInteger, section } from './option-checks.js';
import type { QuotaOptions } from './options.js';
import { parseResetTime } from '../pool/quota-clock.js';
import type { ResolvedKey } from './resolve-keys.js';

export interface ResolvedQuota extends Omit<QuotaOptions, 'balanceUrl'> {
  resetMinutes: number;
  /** The balance endpoint, or undefined when the probe is off. */
  balanceUrl: URL | undefined;
}

const EXAMPLE_BALANCE_URL = 'https://modelscope.cn/openapi/v1/magicubes/balance';

/** The balance URL checked; its text is never quoted back, since a key pasted there would be printed. */
function resolveBalanceUrl(value: unknown, keys: readonly ResolvedKey[]): URL | undefined {
  if (value === undefined) return undefined;
  const url = httpUrl(value);
  if (!url) {
    fail('quota.balanceUrl', `must be an http(s) URL such as '${EXAMPLE_BALANCE_URL}', got ${describe(value)}.`);
  }
  // The key goes in the Authorization header: credentials in the URL would be logged and sent besides.
  if (url.username || url.password) fail('quota.balanceUrl', 'must not carry credentials (user:password@).');
  if (url.hash) fail('quota.balanceUrl', 'must not carry a fragment (#…).');
  // A URL is logged (the server's start-up line): a key in it would be shown. Each key is sent as a Bearer token.
  if (keys.some((k) => containsPieceOf(url.href, k.key))) {
    fail('quota.balanceUrl', 'must not contain a key: each key is sent to it as a Bearer token.');
  }
  return url;
}

export function resolveQuota(value: unknown, keys: readonly ResolvedKey[]): ResolvedQuota {
  const given = section<QuotaOptions>('quota', value, [
    'resetTimeZone',
    'resetTime',
    'assumeExhaustedAfter',
    'exhaustedTrialMs',
    'balanceUrl',
    'balanceIntervalMs',
  ]);
  const resetTimeZone = given.resetTimeZone ?? DEFAULTS.quota.resetTimeZone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: resetTimeZone });
  } catch {
    fail('quota.resetTimeZone', `must be an IANA time zone such as 'Asia/Shanghai', got ${describe(resetTimeZone)}.`);
  }
  const resetTime = given.resetTime ?? DEFAULTS.quota.resetTime;
  const resetMinutes = typeof resetTime === 'string' ? parseResetTime(resetTime) : undefined;
  if (resetMinutes === undefined) fail('quota.resetTime', `must be a time of day 'HH:MM', got ${describe(resetTime)}.`);
  return {
    resetTimeZone,
    resetTime,
    resetMinutes,
    assumeExhaustedAfter: positiveInteger(
      'quota.assumeExhaustedAfter',
      given.assumeExhaustedAfter,
      DEFAULTS.quota.assumeExhaustedAfter,
    ),
    exhaustedTrialMs: positiveInteger(
      'quota.exhaustedTrialMs',
      given.exhaustedTrialMs,
      DEFAULTS.quota.exhaustedTrialMs,
    ),
    balanceUrl: resolveBalanceUrl(given.balanceUrl, keys),
    balanceIntervalMs: positiveInteger(
      'quota.balanceIntervalMs',
      given.balanceIntervalMs,
      DEFAULTS.quota.balanceIntervalMs,
    ),
  };
}
