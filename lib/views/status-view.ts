// What the status page shows, computed from the pool: the same data renders
// the first paint on the server and refreshes in the browser (/status/data).
import type { AccountQuota, ExhaustionSource } from '../pool/account-quota.js';
import type { KeyPool } from '../pool/pool.js';
import { shownStatus, type ShownStatus } from '../pool/pool-entry.js';

export const SHOWN_STATES: readonly ShownStatus[] = [
  'healthy',
  'cooling',
  'unhealthy',
  'invalid',
  'exhausted',
  'disabled',
];

export interface StatusKey {
  label: string;
  state: ShownStatus;
  requests: number;
  in_flight: number;
  quota: { remaining: number | null; limit: number | null } | null;
  /** When the key's current wait ends, and what it is. */
  until: string | null;
  until_kind: 'cooldown' | 'trial' | 'reset' | null;
  last_error: { reason: string; status: number | string; at: string } | null;
  /** Used up: how that is known, since when, and the next trial call (none when counters say so). */
  exhaustion: { source: ExhaustionSource; since: string; next_trial_at: string | null } | null;
  /** Successful calls since the reset, and the available balance when `quota.balanceUrl` is read. */
  successes_today: number;
  balance: number | null;
}

export interface StatusView {
  generated_at: string;
  summary: {
    total: number;
    states: Record<ShownStatus, number>;
    requests_last_minute: number;
    requests_today: number;
    /**
     * Requests left today across the pool's accounts: where ModelScope sends counters, from them; elsewhere
     * estimated from the successes an account served on the last day it ran out (`quota_basis` says which).
     */
    quota_left: number | null;
    quota_limit: number | null;
    quota_basis: 'counters' | 'observed' | 'both' | null;
    per_minute_last_15: number;
    /** At the rate of the last 15 minutes, when the known quota runs out; null when not before the reset. */
    runs_dry_at: string | null;
    resets_at: string;
  };
  keys: StatusKey[];
}

import { isoTime as iso } from './iso-time.js';

interface AccountLeft {
  remaining: number | null;
  limit: number | null;
  basis: 'counters' | 'observed';
}

/**
 * What is left of an account's day: its counters when fresh; else, once it has been seen to run out, the successes
 * it served that day minus today's (0 while used up); else unknown.
 */
function accountLeft(account: AccountQuota, now: number): AccountLeft | undefined {
  const figures = account.overall;
  if (figures && now < figures.staleAt)
    return { remaining: figures.remaining, limit: figures.limit, basis: 'counters' };
  if (account.observedAllowance === null) return undefined;
  const left = account.exhaustedUntil(now) > 0 ? 0 : account.observedAllowance - account.successesToday(now);
  return { remaining: Math.max(0, left), limit: account.observedAllowance, basis: 'observed' };
}

export function statusView(pool: KeyPool, now: number): StatusView {
  const states = Object.fromEntries(SHOWN_STATES.map((state) => [state, 0])) as Record<ShownStatus, number>;
  const accounts = new Map<string, AccountLeft>();
  const keys = pool.entries.map((entry): StatusKey => {
    const state = shownStatus(entry, now);
    states[state]++;
    const left = accounts.has(entry.accountName) ? accounts.get(entry.accountName) : accountLeft(entry.account, now);
    if (left) accounts.set(entry.accountName, left);
    const figures = left?.basis === 'counters' ? left : null;
    const exhaustedUntil = entry.account.exhaustedUntil(now);
    const exhaustion = entry.account.exhaustionView(now);
    const { status, until, lastError } = entry.state;
    const kind =
      state === 'cooling'
        ? 'cooldown'
        : state === 'exhausted'
          ? 'reset'
          : (status === 'unhealthy' || status === 'invalid') && !entry.state.disabled
            ? 'trial'
            : null;
    const untilMs = kind === 'reset' ? exhaustedUntil : kind ? until : 0;
    return {
      label: entry.label,
      state,
      requests: entry.state.requests,
      in_flight: entry.state.inFlight,
      quota: figures ? { remaining: figures.remaining, limit: figures.limit } : null,
      until: kind && untilMs > now ? iso(untilMs) : null,
      until_kind: kind && untilMs > now ? kind : null,
      last_error: lastError ? { reason: lastError.reason, status: lastError.status, at: iso(lastError.at) } : null,
      exhaustion: exhaustion
        ? {
            source: exhaustion.source,
            since: iso(exhaustion.since),
            next_trial_at: exhaustion.nextTrialAt === null ? null : iso(exhaustion.nextTrialAt),
          }
        : null,
      successes_today: entry.account.successesToday(now),
      balance: entry.account.balance?.available ?? null,
    };
  });
  const known = [...accounts.values()];
  const bases = new Set(known.map((a) => a.basis));
  const quotaLeft = known.some((a) => a.remaining !== null)
    ? known.reduce((sum, a) => sum + (a.remaining ?? 0), 0)
    : null;
  const quotaLimit = known.some((a) => a.limit !== null) ? known.reduce((sum, a) => sum + (a.limit ?? 0), 0) : null;
  const perMinute = pool.rate.within(now, 15) / 15;
  const resetsAt = pool.nextReset(now);
  const dryAt = quotaLeft !== null && perMinute > 0 ? now + (quotaLeft / perMinute) * 60_000 : Infinity;
  return {
    generated_at: iso(now),
    summary: {
      total: keys.length,
      states,
      requests_last_minute: pool.rate.within(now, 1),
      requests_today: pool.rate.sinceReset(now),
      quota_left: quotaLeft,
      quota_limit: quotaLimit,
      quota_basis: bases.size === 2 ? 'both' : bases.size === 1 ? [...bases][0] : null,
      per_minute_last_15: Math.round(perMinute * 10) / 10,
      runs_dry_at: dryAt < resetsAt ? iso(dryAt) : null,
      resets_at: iso(resetsAt),
    },
    keys,
  };
}
