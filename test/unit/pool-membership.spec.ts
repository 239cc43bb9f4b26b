import { expect } from 'chai';
import { KeyPool, type PoolEvents } from '../../lib/pool/pool.js';
import type { PoolEntry } from '../../lib/pool/pool-entry.js';
import type { ResolvedKey } from '../../lib/options/resolve-keys.js';
import { manualClock, testKey, unitPoolSettings } from '../helpers.js';

function spec(n: number, extra: Partial<ResolvedKey> = {}): ResolvedKey {
  return { key: testKey(n), label: `k${n}`, weight: 1, account: `key:k${n}`, ownAccount: true, ...extra };
}

function poolOf(
  specs: ResolvedKey[],
  strategy: 'round-robin' | 'weighted' = 'round-robin',
  events: Partial<PoolEvents> = {},
) {
  return new KeyPool(specs, unitPoolSettings(manualClock().now, strategy), {
    transition() {},
    exhausted() {},
    throttled() {},
    ...events,
  });
}

describe('pool membership (issue 21, findings 5 and 6)', () => {
  it('6. an entry stays the same object while its key stays with the same settings, whatever joins or leaves', () => {
    const pool = poolOf([spec(1), spec(2), spec(3)]);
    const [first, second, third] = pool.entries;
    pool.remove(first);
    pool.add(spec(4));
    expect(pool.entries.slice(0, 2)).to.deep.equal([second, third]);
    expect(pool.entries[0]).to.equal(second);
    pool.replace([spec(3), spec(2), spec(5)]);
    expect(pool.entries[0]).to.equal(third);
    expect(pool.entries[1]).to.equal(second);
    // New settings make a new entry, on the same state and counts; the pool answers for the key with it.
    pool.replace([spec(3, { weight: 2 }), spec(2)]);
    expect(pool.entries[0]).not.to.equal(third);
    expect(pool.entries[0].state).to.equal(third.state);
    expect(pool.get(third.key)).to.equal(pool.entries[0]);
    expect(pool.find('k3')).to.equal(pool.entries[0]);
  });

  it('5. a change the weighted schedule refuses changes nothing, and the pool can be emptied', () => {
    const pool = poolOf([spec(1), spec(2)], 'weighted');
    const before = pool.entries;
    expect(() => pool.add(spec(3, { weight: 999_999 }))).to.throw(/keep the sum under/);
    expect(() => pool.replace([spec(1, { weight: 999_999 }), spec(2, { weight: 2 })])).to.throw(/keep the sum under/);
    expect(pool.entries).to.equal(before);
    expect(pool.hasKey(testKey(3))).to.equal(false);
    expect(pool.find('k3')).to.equal(undefined);
    pool.remove(before[0]);
    pool.remove(before[1]);
    expect(pool.entries).to.deep.equal([]);
    expect(pool.select()).to.equal(undefined);
    expect(pool.whyNone()).to.deep.equal({ kind: 'empty' });
  });

  it('1. retires a removed key only once no request is left on it', () => {
    const retired: string[] = [];
    const pool = poolOf([spec(1), spec(2)], 'round-robin', {
      retired: (entry: PoolEntry) => retired.push(entry.label),
    });
    const [busy] = pool.entries;
    const trial = pool.begin(busy);
    pool.replace([]);
    expect(retired).to.deep.equal(['k2']);
    pool.end(busy, trial);
    expect(retired).to.deep.equal(['k2', 'k1']);
  });

  it('keys that join together under one account share its quota', () => {
    const pool = poolOf([spec(1)]);
    pool.replace([
      spec(1),
      spec(2, { account: 'team', ownAccount: false }),
      spec(3, { account: 'team', ownAccount: false }),
    ]);
    expect(pool.entries[1].account).to.equal(pool.entries[2].account);
    expect(pool.entries[0].account).not.to.equal(pool.entries[1].account);
  });
});
