import { BalanceConfigError } from '../options/errors.js';
import type { Strategy } from '../options/options.js';
import type { PoolEntry } from './pool-entry.js';

/**
 * Picks the next key among those `usable` allows. Round robin and weighted
 * are O(1) while most keys are usable (a cursor over a fixed cycle), so a
 * pool of 10 000 keys costs what a pool of 3 does.
 */
export interface Selector {
  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined;
}

/** Walks a cycle of entry indexes from a cursor, returning the first usable. */
class CycleSelector implements Selector {
  private cursor = 0;
  constructor(private readonly cycle: readonly number[]) {}

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

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/** Largest cycle the weighted schedule may have; bigger weights are refused at construction. */
const MAX_WEIGHTED_CYCLE = 1_000_000;

/**
 * nginx's smooth weighted round robin, unrolled once into a cycle: weights
 * 1:2:3 give c b a b c ... spread evenly rather than in bursts. Computed once,
 * then walked like round robin.
 */
export function smoothWeightedCycle(weights: readonly number[]): number[] {
  const divisor = weights.reduce(greatestCommonDivisor);
  const scaled = weights.map((w) => w / divisor);
  const total = scaled.reduce((a, b) => a + b, 0);
  if (total > MAX_WEIGHTED_CYCLE) {
    throw new BalanceConfigError(
      'ERR_MSB_INVALID_OPTION',
      'keys[].weight',
      `add up to ${total} after dividing by their common factor; keep the sum under ${MAX_WEIGHTED_CYCLE} (use ` +
        `smaller weights).`,
    );
  }
  const current = new Array<number>(scaled.length).fill(0);
  const cycle: number[] = [];
  for (let n = 0; n < total; n++) {
    let best = 0;
    for (let i = 0; i < scaled.length; i++) {
      current[i] += scaled[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    cycle.push(best);
  }
  return cycle;
}

/** Scans every key for the best score; ties go round robin. O(n), by nature of the question asked. */
class ScoringSelector implements Selector {
  private cursor = 0;
  constructor(private readonly score: (entry: PoolEntry) => number) {}

  pick(entries: readonly PoolEntry[], usable: (entry: PoolEntry) => boolean): PoolEntry | undefined {
    let best: PoolEntry | undefined;
    let bestScore = -Infinity;
    for (let step = 0; step < entries.length; step++) {
      const entry = entries[(this.cursor + step) % entries.length];
      if (!usable(entry)) continue;
      const score = this.score(entry);
      if (best === undefined || score > bestScore) {
        best = entry;
        bestScore = score;
      }
    }
    if (best) this.cursor = (best.index + 1) % entries.length;
    return best;
  }
}

export function createSelector(strategy: Strategy, entries: readonly PoolEntry[], now: () => number): Selector {
  switch (strategy) {
    case 'weighted':
      return new CycleSelector(smoothWeightedCycle(entries.map((e) => e.weight)));
    case 'least-in-flight':
      return new ScoringSelector((entry) => -entry.state.inFlight);
    case 'most-remaining':
      return new ScoringSelector((entry) => entry.account.remainingNow(now()));
    default:
      return new CycleSelector(entries.map((_, index) => index));
  }
}
