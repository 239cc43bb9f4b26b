// The default store: state stays in this process, as with no store at all. It
// says 'local', so the balancer hands it no changes and no counts (at no cost
// per request); what it keeps is the counters of `increment`, this process's.
import type { Store } from './store.js';

export interface MemoryStoreOptions {
  /** The clock counters expire by (epoch ms). Defaults to `Date.now`. */
  now: () => number;
}

interface Counter {
  total: number;
  expiresAt: number;
}

/** Fewer counters than this are never swept: a sweep is worth it only once many may have expired. */
const SWEEP_FLOOR = 1024;

export class MemoryStore implements Store {
  private readonly counters = new Map<string, Counter>();
  private readonly now: () => number;
  /** The size at which expired counters are swept next (twice what was left, so sweeping stays linear). */
  private sweepAt = SWEEP_FLOOR;

  constructor(options: Partial<MemoryStoreOptions> = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Shares nothing: never called while the store says 'local'. */
  publish(): void {}

  status(): 'local' {
    return 'local';
  }

  /** This process's counter: `by` added to it (started again from 0 once `expiresAt` has passed), its new total. */
  increment(name: string, by: number, expiresAt: number): Promise<number> {
    const now = this.now();
    let counter = this.counters.get(name);
    if (!counter || counter.expiresAt <= now) {
      if (this.counters.size >= this.sweepAt) this.sweep(now);
      this.counters.set(name, (counter = { total: 0, expiresAt }));
    }
    counter.total += by;
    counter.expiresAt = expiresAt;
    return Promise.resolve(counter.total);
  }

  private sweep(now: number): void {
    for (const [name, counter] of this.counters) if (counter.expiresAt <= now) this.counters.delete(name);
    this.sweepAt = Math.max(SWEEP_FLOOR, this.counters.size * 2);
  }
}
