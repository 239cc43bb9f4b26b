import { expect } from 'chai';
import { KeyPool, type PoolEvents } from '../../lib/pool/pool.js';
import type { Strategy } from '../../lib/options/options.js';
import { smoothWeightedCycle } from '../../lib/pool/strategies.js';
import { manualClock } from '../helpers.js';

const quiet: PoolEvents = { transition() {}, exhausted() {}, throttled() {} };

function poolOf(weights: number[], strategy: Strategy, clock = manualClock()) {
  const keys = weights.map((weight, i) => ({
    key: `key-${i}-${'x'.repeat(30)}`,
    label: `k${i}`,
    weight,
    account: `a${i}`,
    ownAccount: false,
  }));
  return new KeyPool(
    keys,
    {
      strategy,
      failureThreshold: 3,
      cooldownBaseMs: 1000,
      cooldownMaxMs: 8000,
      invalidKeyRetryMs: 60_000,
      resetTimeZone: 'Asia/Shanghai',
      resetMinutes: 0,
      now: clock.now,
    },
    quiet,
  );
}

function distribution(pool: KeyPool, picks: number): number[] {
  const counts = pool.entries.map(() => 0);
  for (let i = 0; i < picks; i++) {
    const entry = pool.select();
    if (entry) counts[entry.index]++;
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
    expect(smoothWeightedCycle([5, 1, 1])).to.deep.equal([0, 0, 1, 0, 2, 0, 0]);
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
    expect(pool.select()?.index).to.equal(2);
    pool.begin(pool.entries[2]);
    pool.begin(pool.entries[2]);
    expect(pool.select()?.index).to.be.oneOf([0, 1]);
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
    expect(pool.select()?.index).to.equal(1);
  });

  it('honours the excluded set (keys already tried by a request)', () => {
    const pool = poolOf([1, 1, 1], 'round-robin');
    const exclude = new Set([pool.entries[0], pool.entries[1]]);
    expect(pool.select({ exclude })?.index).to.equal(2);
    expect(pool.select({ exclude: new Set(pool.entries) })).to.equal(undefined);
  });

  it('refuses weights whose cycle would be unreasonably long', () => {
    expect(() => smoothWeightedCycle([1_000_000, 1])).to.throw(/keep the sum under/);
  });
});
