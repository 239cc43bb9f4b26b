import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QuotaFigures } from './account-quota.js';
import { sendJson } from './error-response.js';
import type { KeyPool } from './pool.js';
import { shownStatus, type PoolEntry } from './pool-entry.js';

const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);

function quotaView(figures: QuotaFigures | null, now: number) {
  if (!figures) return null;
  return {
    remaining: figures.remaining,
    limit: figures.limit,
    seen_at: iso(figures.seenAt),
    stale: now >= figures.staleAt,
  };
}

/** One key as /stats shows it: the seed's three fields first, then the rest. */
export function keyStats(pool: KeyPool, entry: PoolEntry, now: number) {
  const { state, account } = entry;
  const status = shownStatus(entry, now);
  const exhaustedUntil = account.exhaustedUntil(now);
  const models: Record<string, unknown> = {};
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
    last_error: state.lastError ? { status: state.lastError.status, reason: state.lastError.reason, at: iso(state.lastError.at) } : null,
    weight: entry.weight,
    quota: { ...quotaView(account.overall, now), models },
  };
}

/** GET /stats: an object keyed by each key's label, the shape of the original Go service. */
export function createStatsHandler(pool: KeyPool) {
  return function serveStats(_req: IncomingMessage, res: ServerResponse): void {
    const now = pool.now();
    const body: Record<string, unknown> = {};
    for (const entry of pool.entries) body[entry.label] = keyStats(pool, entry, now);
    sendJson(res, 200, body, { 'cache-control': 'no-store' });
  };
}

/** GET /health: 200 while some key can take a request now, else 503. No key detail. */
export function createHealthHandler(pool: KeyPool) {
  return function serveHealth(_req: IncomingMessage, res: ServerResponse): void {
    const healthy = pool.usableCount();
    sendJson(res, healthy > 0 ? 200 : 503, {
      status: healthy > 0 ? 'ok' : 'unavailable',
      healthy_keys: healthy,
      total_keys: pool.entries.length,
    }, { 'cache-control': 'no-store' });
  };
}
