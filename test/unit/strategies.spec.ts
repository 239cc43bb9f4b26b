import { expect } from 'chai';
import { KeyPool, type PoolEvents } from '../../lib/pool/pool.js';
import type { PoolEntry } from '../../lib/pool/pool-entry.js';
import type { Strategy } from '../../lib/options/options.js';
import { smoothWeightedCycle } from '../../lib/pool/strategies.js';
import { manualClock, unitPoolSettings } from '../helpers.js';

const quiet: PoolEvents = { transition() {}, exhausted() {}, throttled() {} };

function poolOf(weights: number[], strategy: Strategy, clock = manualClock()) {
  const keys = weights.map((weight, i) => ({
    key: `key-${i}-${'x'.repeat(30)}`,
    label: `k${i}`,
    weight,
    account: `a${i}`,
    ownAccount: false,
  }));
  return new KeyPool(keys, unitPoolSettings(clock.now, strategy), quiet);
}

const positionOf = (pool: KeyPool, entry: PoolEntry | undefined) => (entry ? pool.entries.indexOf(entry) : -1);

function distribution(pool: KeyPool, picks: number): number[] {
  const counts = pool.entries.map(() => 0);
  for (let i = 0; i < picks; i++) {
    const entry = pool.select();
    if (entry) counts[pool.entries.indexOf(entry)]++;
  }
  return counts;
}

describe('selection strategies', () => {
  const table: Array<[Strategy, number[], number, number[]]> = [
    ['round-robin', [1, 1, 1], 30, [10, 10, 10]],
    ['round-robin', [5, 1, 1], 30, [10, 10, 10]],
    ['weighted', [1, 2, 3], 60, [10, 20, 30]],
    ['weighted', [2, 4], 30, [10, 20]],
    ['least-in-flight', [1, 1, 1], 30, [10, 10, 10]],
    ['most-remaining', [1, 1, 1], 30, [10, 10, 10]],
  ];
  for (const [strategy, weights, picks, expected] of table) {
    it(`${strategy} with weights ${weights.join(':')} over ${picks} picks gives ${expected.join(':')}`, () => {
      expect(distribution(poolOf(weights, strategy), picks)).to.deep.equal(expected);
    });
  }

  it('smooth weighted round robin spreads picks instead of bursting', () => {
    expect([...smoothWeightedCycle([5, 1, 1])]).to.deep.equal([0, 1, 0, 0, 2, 0, 0]);
    // Any weights: each key comes up exactly its weight's times per cycle, and never runs a whole turn ahead of (or
    // behind) its share at any point of the cycle.
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let round = 0; round < 200; round++) {
      const weights = Array.from({ length: 1 + Math.floor(random() * 12) }, () => 1 + Math.floor(random() * 40));
      const cycle = smoothWeightedCycle(weights);
      const divisor = weights.reduce((a, b) => {
        while (b) [a, b] = [b, a % b];
        return a;
      });
      const shares = weights.map((w) => w / divisor);
      const picks = weights.map(() => 0);
      let worstLag = 0;
      cycle.forEach((key, step) => {
        picks[key]++;
        for (const [i, share] of shares.entries())
          worstLag = Math.max(worstLag, Math.abs(picks[i] - ((step + 1) * share) / cycle.length));
      });
      expect(worstLag, String(weights)).to.be.below(1);
      expect(picks).to.deep.equal(shares);
    }
  });

  it('builds the weighted schedule of 100,000 keys of mixed weights (the quadratic one took hours)', () => {
    const weights = Array.from({ length: 100_000 }, (_, i) => 1 + (i % 7));
    const cycle = smoothWeightedCycle(weights);
    expect(cycle.length).to.equal(399_995);
    expect(cycle.filter((key) => key === 6).length).to.equal(7);
  });

  it("skips keys that cannot take requests, and keeps the others' order", () => {
    const pool = poolOf([1, 1, 1], 'round-robin');
    pool.failed(pool.entries[1], { status: 500, reason: 'x', at: 0 });
    pool.failed(pool.entries[1], { status: 500, reason: 'x', at: 0 });
    pool.failed(pool.entries[1], { status: 500, reason: 'x', at: 0 });
    expect(distribution(pool, 6)).to.deep.equal([3, 0, 3]);
  });

  it('least-in-flight picks the idlest key', () => {
    const pool = poolOf([1, 1, 1], 'least-in-flight');
    pool.begin(pool.entries[0]);
    pool.begin(pool.entries[1]);
    expect(positionOf(pool, pool.select())).to.equal(2);
    pool.begin(pool.entries[2]);
    pool.begin(pool.entries[2]);
    expect(positionOf(pool, pool.select())).to.be.oneOf([0, 1]);
  });

  it('most-remaining picks the key with the most daily quota left', () => {
    const clock = manualClock();
    const pool = poolOf([1, 1, 1], 'most-remaining', clock);
    const figures = (n: number) => ({
      'modelscope-ratelimit-requests-limit': '100',
      'modelscope-ratelimit-requests-remaining': String(n),
    });
    pool.recordQuota(pool.entries[0], figures(10), undefined);
    pool.recordQuota(pool.entries[1], figures(90), undefined);
    pool.recordQuota(pool.entries[2], figures(50), undefined);
    expect(positionOf(pool, pool.select())).to.equal(1);
  });

  it('honours the excluded set (keys already tried by a request)', () => {
    const pool = poolOf([1, 1, 1], 'round-robin');
    const exclude = new Set([pool.entries[0].key, pool.entries[1].key]);
    expect(positionOf(pool, pool.select({ exclude }))).to.equal(2);
    expect(pool.select({ exclude: new Set(pool.entries.map((entry) => entry.key)) })).to.equal(undefined);
  });

  it('refuses weights whose cycle would be unreasonably long', () => {
    expect(() => smoothWeightedCycle([1_000_000, 1])).to.throw(/keep the sum under/);
  });
});
