import type { Strategy } from '../options/options.js';
import type { PoolEntry } from './pool-entry.js';
import { weightedCycle } from './weighted-cycle.js';

export { MAX_WEIGHTED_CYCLE, weightedCycle as smoothWeightedCycle } from './weighted-cycle.js';

/**
 * Picks the next key among those `usable` allows. Round robin and weighted
 * are O(1) while most keys are usable (a cursor over a fixed cycle), so a
 * pool of 10 000 keys costs what a pool of 3 does.
 */
export interface Selector {
  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined;
}

/** Walks the pool in order from a cursor, returning the first usable entry. */
class RoundRobinSelector implements Selector {
  constructor(private cursor = 0) {}

  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined {
    const length = entries.length;
    for (let step = 0; step < length; step++) {
      const position = (this.cursor + step) % length;
      if (usable(entries[position])) {
        this.cursor = (position + 1) % length;
        return entries[position];
      }
    }
    return undefined;
  }
}

/** Walks a cycle of entry positions from a cursor, returning the first usable. */
class CycleSelector implements Selector {
  private cursor = 0;
  constructor(private readonly cycle: Int32Array) {}

  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined {
    const length = this.cycle.length;
    for (let step = 0; step < length; step++) {
      const position = (this.cursor + step) % length;
      const entry = entries[this.cycle[position]];
      if (usable(entry)) {
        this.cursor = (position + 1) % length;
        return entry;
      }
    }
    return undefined;
  }
}

/** Scans every key for the best score; ties go round robin. O(n), by nature of the question asked. */
class ScoringSelector implements Selector {
  private cursor = 0;
  constructor(private readonly score: (entry: PoolEntry) => number) {}

  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined {
    let best = -1;
    let bestScore = -Infinity;
    for (let step = 0; step < entries.length; step++) {
      const position = (this.cursor + step) % entries.length;
      const entry = entries[position];
      if (!usable(entry)) continue;
      const score = this.score(entry);
      if (best === -1 || score > bestScore) {
        best = position;
        bestScore = score;
      }
    }
    if (best === -1) return undefined;
    this.cursor = (best + 1) % entries.length;
    return entries[best];
  }
}

/**
 * The selector for `entries`. Throws a BalanceConfigError, before anything
 * changes, when the weights would make the weighted schedule too long.
 */
export function createSelector(strategy: Strategy, entries: readonly PoolEntry[], now: () => number): Selector {
  switch (strategy) {
    case 'weighted':
      return new CycleSelector(weightedCycle(entries.map((e) => e.weight)));
    case 'least-in-flight':
      return new ScoringSelector((entry) => -entry.state.inFlight);
    case 'most-remaining':
      return new ScoringSelector((entry) => entry.account.remainingNow(now()));
    default:
      return new RoundRobinSelector();
  }
}
