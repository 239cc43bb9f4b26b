import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QuotaFigures } from '../pool/account-quota.js';
import { sendJson } from './error-response.js';
import type { KeyPool } from '../pool/pool.js';
import { shownStatus, type PoolEntry, type ShownStatus } from '../pool/pool-entry.js';

const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

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
  quota: Partial<QuotaStats> & { models: Record<string, QuotaStats | null> };
  /** With a shared store: requests sent with this key by every replica, as last read. */
  fleet_requests?: number;
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
    quota: { ...quotaView(account.overall, now), models },
    // With a shared store: requests sent with this key by every replica, as last read.
    ...(fleetRequests === undefined ? {} : { fleet_requests: fleetRequests }),
  };
}

/** GET /stats: an object keyed by each key's label, the shape of the original Go service. */
export function createStatsHandler(stats: () => Record<string, unknown>) {
  return function serveStats(_req: IncomingMessage, res: ServerResponse): void {
    sendJson(res, 200, stats(), { 'cache-control': 'no-store' });
  };
}

/** GET /health: 200 while some key can take a request now, else 503 (`reason: no_keys` for an empty pool). */
export function createHealthHandler(pool: KeyPool, store: () => 'ok' | 'degraded' | 'local') {
  return function serveHealth(_req: IncomingMessage, res: ServerResponse): void {
    const healthy = pool.usableCount();
    const shared = store();
    sendJson(
      res,
      healthy > 0 ? 200 : 503,
      {
        status: healthy > 0 ? 'ok' : 'unavailable',
        ...(pool.entries.length === 0 ? { reason: 'no_keys' } : {}),
        healthy_keys: healthy,
        total_keys: pool.entries.length,
        // A shared store that is down degrades sharing, not serving: the status stays ok.
        ...(shared === 'local' ? {} : { store: shared }),
      },
      { 'cache-control': 'no-store' },
    );
  };
}
