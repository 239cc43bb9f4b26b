// What /health says: ok while some key can take a request now, with counts and no key detail.
import type { KeyPool } from '../pool/pool.js';

export interface HealthView {
  status: 'ok' | 'unavailable';
  /** `no_keys` when every key was removed. */
  reason?: 'no_keys';
  healthy_keys: number;
  total_keys: number;
  /** A shared store's reachability; absent without one. */
  store?: 'ok' | 'degraded';
}

export function healthView(pool: KeyPool, store: 'ok' | 'degraded' | 'local'): HealthView {
  const healthy = pool.usableCount();
  return {
    status: healthy > 0 ? 'ok' : 'unavailable',
    ...(pool.entries.length === 0 ? { reason: 'no_keys' as const } : {}),
    healthy_keys: healthy,
    total_keys: pool.entries.length,
    // A shared store that is down degrades sharing, not serving: the status stays ok.
    ...(store === 'local' ? {} : { store }),
  };
}
