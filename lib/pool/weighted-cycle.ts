// The weighted strategy's schedule: one cycle in which each key appears
// `weight` times, spread evenly. Built in O(total · log n) with two heaps,
// so 100,000 keys of mixed weights take milliseconds, not minutes.
import { BalanceConfigError } from '../options/errors.js';

/** Largest cycle the weighted schedule may have (after dividing the weights by their common factor). */
export const MAX_WEIGHTED_CYCLE = 1_000_000;

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A binary min-heap of item numbers by a priority each item has (ties: the lower number first). */
class ItemHeap {
  private readonly items: Int32Array;
  private size = 0;
  constructor(
    capacity: number,
    private readonly priority: Float64Array,
  ) {
    this.items = new Int32Array(capacity);
  }

  get empty(): boolean {
    return this.size === 0;
  }

  peek(): number {
    return this.items[0];
  }

  private before(a: number, b: number): boolean {
    const pa = this.priority[a];
    const pb = this.priority[b];
    return pa < pb || (pa === pb && a < b);
  }

  push(item: number): void {
    const { items } = this;
    let at = this.size++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.before(item, items[parent])) break;
      items[at] = items[parent];
      at = parent;
    }
    items[at] = item;
  }

  pop(): number {
    const { items } = this;
    const top = items[0];
    const last = items[--this.size];
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.before(items[child + 1], items[child])) child++;
      if (!this.before(items[child], last)) break;
      items[at] = items[child];
      at = child;
    }
    items[at] = last;
    return top;
  }
}

/**
 * WF²Q's order (worst-case fair weighted fair queueing): key i's k-th turn
 * starts at virtual time k/wᵢ and ends at (k+1)/wᵢ; at each step the keys
 * whose turn has started are eligible and the one whose turn ends first goes
 * (ties by position). Weights 5:1:1 give a b a a c a a: no key runs ahead of
 * its share by a whole turn.
 */
export function weightedCycle(weights: readonly number[]): Int32Array {
  const n = weights.length;
  if (n === 0) return new Int32Array(0);
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
  const cycle = new Int32Array(total);
  if (total === n) {
    for (let i = 0; i < n; i++) cycle[i] = i;
    return cycle;
  }
  // Each turn's start and end as a double: division is correctly rounded, so equal fractions give equal doubles and
  // different ones (at least 1/total² apart, above 10⁻¹²) keep their order.
  const turns = new Float64Array(n);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const eligible = new ItemHeap(n, ends);
  const waiting = new ItemHeap(n, starts);
  for (let i = 0; i < n; i++) {
    ends[i] = 1 / scaled[i];
    eligible.push(i);
  }
  for (let step = 0; step < total; step++) {
    const now = step / total;
    while (!waiting.empty && starts[waiting.peek()] <= now) eligible.push(waiting.pop());
    const next = eligible.pop();
    cycle[step] = next;
    const taken = ++turns[next];
    if (taken === scaled[next]) continue;
    starts[next] = taken / scaled[next];
    ends[next] = (taken + 1) / scaled[next];
    waiting.push(next);
  }
  return cycle;
}
