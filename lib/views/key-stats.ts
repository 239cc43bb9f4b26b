// What /stats and `stats()` show of each key: the seed's three fields first, then state, errors and quota.
import type { AccountQuota, ExhaustionSource, QuotaFigures } from '../pool/account-quota.js';
import type { KeyPool } from '../pool/pool.js';
import { shownStatus, type PoolEntry, type ShownStatus } from '../pool/pool-entry.js';
import { isoTimeOrNull as iso } from './iso-time.js';

function quotaView(figures: QuotaFigures | null, now: number): QuotaStats | null {
  if (!figures) return null;
  return {
    remaining: figures.remaining,
    limit: figures.limit,
    seen_at: iso(figures.seenAt),
    stale: now >= figures.staleAt,
  };
}

/** Quota figures as /stats shows them. */
export interface QuotaStats {
  remaining: number | null;
  limit: number | null;
  /** When ModelScope reported them (ISO 8601). */
  seen_at: string | null;
  /** True once the daily reset has passed since: the figures no longer hold. */
  stale: boolean;
}

/** An account's used-up allowance as /stats shows it: how it is known, since and until when, the next trial. */
export interface ExhaustionStats {
  /** counters: a counter at 0; answer: ModelScope said so (403 `QuotaLimitExceed` …); inferred: 429s; balance: 0. */
  source: ExhaustionSource;
  since: string | null;
  /** The reset: it ends then at the latest (or at a successful trial call). */
  until: string | null;
  /** When the next trial call may go; null when counters say so (no trial until the reset). */
  next_trial_at: string | null;
}

/** What the balance endpoint (`quota.balanceUrl`) last said for the key's account. */
export interface BalanceStats {
  available: number;
  total: number | null;
  frozen: number | null;
  seen_at: string | null;
  /** False when a call succeeded on a zero reading today: zero then does not mean used up until the reset. */
  trusted: boolean;
}

/** What is known of the allowance besides counters. */
export interface AllowanceStats {
  /** Successful calls since the last reset (this replica's). */
  successes_today: number;
  /** The successes of the last day the allowance ran out without counters: the allowance as observed. */
  observed_allowance: number | null;
  /** 429s without counters in a row, toward `quota.assumeExhaustedAfter`. */
  rate_limits_in_a_row: number;
  balance?: BalanceStats;
}

/** One key as `/stats` and `stats()` show it: the Go service's three fields first, then the rest. */
export interface KeyStats {
  /** Whether the key can take a request now. */
  healthy: boolean;
  last_used: string | null;
  /** Requests sent with this key by this replica. */
  requests: number;
  state: ShownStatus;
  /** cooling: when the cooldown ends; exhausted: when the quota resets. */
  cooldown_until: string | null;
  /** unhealthy or invalid: when a trial request is allowed. */
  retry_at: string | null;
  consecutive_failures: number;
  in_flight: number;
  last_error: { status: number | 'error' | 'timeout'; reason: string; at: string | null } | null;
  weight: number;
  /** The account's allowance is used up: how that is known and until when; null otherwise. */
  exhaustion: ExhaustionStats | null;
  quota: Partial<QuotaStats> & { models: Record<string, QuotaStats | null> } & AllowanceStats;
  /** With a shared store: requests sent with this key by every replica, as last read. */
  fleet_requests?: number;
}

export function exhaustionStats(account: AccountQuota, now: number): ExhaustionStats | null {
  const view = account.exhaustionView(now);
  if (!view) return null;
  return { source: view.source, since: iso(view.since), until: iso(view.until), next_trial_at: iso(view.nextTrialAt) };
}

function allowanceStats(account: AccountQuota, now: number): AllowanceStats {
  const { balance } = account;
  return {
    successes_today: account.successesToday(now),
    observed_allowance: account.observedAllowance,
    rate_limits_in_a_row: account.strikesNow(now),
    ...(balance
      ? {
          balance: {
            available: balance.available,
            total: balance.total,
            frozen: balance.frozen,
            seen_at: iso(balance.seenAt),
            trusted: now >= balance.ignoredUntil,
          },
        }
      : {}),
  };
}

/** One key as /stats shows it: the seed's three fields first, then the rest. */
export function keyStats(pool: KeyPool, entry: PoolEntry, now: number, fleetRequests?: number): KeyStats {
  const { state, account } = entry;
  const status = shownStatus(entry, now);
  const exhaustedUntil = account.exhaustedUntil(now);
  const models: Record<string, QuotaStats | null> = {};
  for (const [model, figures] of account.models) models[model] = quotaView(figures, now);
  return {
    healthy: pool.isUsable(entry, now),
    last_used: iso(state.lastUsed),
    requests: state.requests,
    state: status,
    cooldown_until: status === 'cooling' ? iso(state.until) : status === 'exhausted' ? iso(exhaustedUntil) : null,
    retry_at: status === 'unhealthy' || status === 'invalid' ? iso(state.until) : null,
    consecutive_failures: state.consecutiveFailures,
    in_flight: state.inFlight,
    last_error: state.lastError
      ? { status: state.lastError.status, reason: state.lastError.reason, at: iso(state.lastError.at) }
      : null,
    weight: entry.weight,
    exhaustion: exhaustionStats(account, now),
    quota: { ...quotaView(account.overall, now), models, ...allowanceStats(account, now) },
    // With a shared store: requests sent with this key by every replica, as last read.
    ...(fleetRequests === undefined ? {} : { fleet_requests: fleetRequests }),
  };
}
