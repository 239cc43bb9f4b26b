// Whether a 429 is about the key or about us: when most of the pool is limited
// within seconds, ModelScope is throttling this machine, and a key's cooldown
// is not escalated nor its 429 counted toward a used-up allowance. But a pool
// whose every allowance is gone looks the same, only for longer: once no key
// has succeeded for a minute, the 429s count again.
import type { PoolEntry } from './pool-entry.js';

/** Several keys limited within this window mean the upstream throttles us, not the keys. */
const WINDOW_MS = 5_000;
/**
 * How long a throttling episode without a single success may last before its 429s count toward exhaustion:
 * ModelScope's rate limits are per minute; a pool that has had no success for longer is more likely used up.
 */
const GRACE_MS = 60_000;

export interface ThrottleReading {
  /** Most of the pool was limited within the window: cooldowns are not escalated. */
  throttled: boolean;
  /** A throttling episode began with this 429 (logged once). */
  began: boolean;
  /** The 429 may count toward a used-up allowance: not throttling, or an episode past its grace. */
  countable: boolean;
}

export class ThrottleWatch {
  private readonly recent = new Map<string, number>();
  private episode = false;
  private lastSuccessAt = -Infinity;

  /** Any success: the upstream serves this machine. */
  succeeded(now: number): void {
    this.lastSuccessAt = now;
  }

  /** Records a 429 on `entry` in a pool of `size` keys. */
  rateLimited(entry: PoolEntry, now: number, size: number): ThrottleReading {
    this.recent.set(entry.key, now);
    for (const [other, at] of this.recent) {
      if (now - at > WINDOW_MS) this.recent.delete(other);
    }
    const throttled = size >= 3 && this.recent.size > size / 2;
    const began = throttled && !this.episode;
    this.episode = throttled;
    return { throttled, began, countable: !throttled || now - this.lastSuccessAt >= GRACE_MS };
  }

  /** How many keys were limited within the window (for the log line). */
  get limited(): number {
    return this.recent.size;
  }
}
