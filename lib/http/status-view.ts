// What the status page shows, computed from the pool: the same data renders
// the first paint on the server and refreshes in the browser (/status/data).
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
}

export interface StatusView {
  generated_at: string;
  summary: {
    total: number;
    states: Record<ShownStatus, number>;
    requests_last_minute: number;
    requests_today: number;
    /** Requests left today across the pool's accounts, where ModelScope reported them. */
    quota_left: number | null;
    quota_limit: number | null;
    per_minute_last_15: number;
    /** At the rate of the last 15 minutes, when the known quota runs out; null when not before the reset. */
    runs_dry_at: string | null;
    resets_at: string;
  };
  keys: StatusKey[];
}

import { isoTime as iso } from './iso-time.js';

export function statusView(pool: KeyPool, now: number): StatusView {
  const states = Object.fromEntries(SHOWN_STATES.map((state) => [state, 0])) as Record<ShownStatus, number>;
  const accounts = new Map<string, { remaining: number | null; limit: number | null }>();
  const keys = pool.entries.map((entry): StatusKey => {
    const state = shownStatus(entry, now);
    states[state]++;
    const figures = entry.account.overall && now < entry.account.overall.staleAt ? entry.account.overall : null;
    if (figures) accounts.set(entry.accountName, { remaining: figures.remaining, limit: figures.limit });
    const exhaustedUntil = entry.account.exhaustedUntil(now);
    const { status, until, lastError } = entry.state;
    const kind =
      state === 'cooling'
        ? 'cooldown'
        : state === 'exhausted'
          ? 'reset'
          : (status === 'unhealthy' || status === 'invalid') && !entry.state.held
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
    };
  });
  const known = [...accounts.values()];
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
      per_minute_last_15: Math.round(perMinute * 10) / 10,
      runs_dry_at: dryAt < resetsAt ? iso(dryAt) : null,
      resets_at: iso(resetsAt),
    },
    keys,
  };
}
