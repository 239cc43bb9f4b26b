// A key taken for one attempt. Taking it starts the request on the key (its in-flight count, its requests today, a
// trial if it is due one); `release()` ends it, once, whoever ends the attempt first: its failure, an answer
// discarded for failover, a relay that completed or broke, a client that left. Nothing else touches in-flight
// counts, so none can leak or be ended twice.
import type { KeyPool } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';

export interface KeyLease {
  readonly entry: PoolEntry;
  /** Whether this attempt is the one trial request of an unhealthy or refused key (or a used-up account). */
  readonly trial: boolean;
  /** Ends the attempt on the key; idempotent. */
  release(): void;
}

export function leaseKey(pool: KeyPool, entry: PoolEntry): KeyLease {
  const trial = pool.begin(entry);
  let released = false;
  return {
    entry,
    trial,
    release() {
      if (released) return;
      released = true;
      pool.end(entry, trial);
    },
  };
}
