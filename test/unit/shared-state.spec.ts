import { expect } from 'chai';
import { KeyPool, type PoolEvents } from '../../lib/pool/pool.js';
import { SharedState } from '../../lib/store/shared-state.js';
import { fingerprint, type SharedUpdate, type Store, type StoreHandlers } from '../../lib/store/store.js';
import { manualClock, poolSettings, testKey } from '../helpers.js';

/** A store that keeps what it is handed, and can hand changes in as another replica would. */
class RecordingStore implements Store {
  handlers: StoreHandlers | undefined;
  readonly published: SharedUpdate[] = [];
  init(handlers: StoreHandlers): void {
    this.handlers = handlers;
  }
  publish(update: SharedUpdate): void {
    this.published.push(update);
  }
}

function rig(keys: number, account?: string) {
  const clock = manualClock(Date.parse('2026-03-01T02:00:00Z'));
  const store = new RecordingStore();
  let shared!: SharedState;
  const events: PoolEvents = {
    transition() {},
    exhausted() {},
    throttled() {},
    stateChanged: (entry) => shared.keyChanged(entry),
    quotaChanged: (entry) => shared.quotaChanged(entry),
    // The one line the balancer needs: a removed key, once idle, is forgotten.
    retired: (entry) => shared.forget(entry),
  };
  const specs = Array.from({ length: keys }, (_, i) => ({
    key: testKey(i + 1),
    label: `k${i}`,
    weight: 1,
    account: account ?? testKey(i + 1),
    ownAccount: account === undefined,
  }));
  const pool = new KeyPool(specs, poolSettings(clock.now), events);
  shared = new SharedState(pool, store);
  void shared.start();
  return { pool, shared, store, clock, specs };
}

const tracked = (shared: SharedState) => (shared as unknown as { fingerprints: Map<string, string> }).fingerprints;

describe('SharedState', () => {
  it('forgets the fingerprint of a removed key once its last request ended, not before', () => {
    const { pool, shared } = rig(3);
    for (const entry of pool.entries) shared.keyChanged(entry);
    expect(tracked(shared).size).to.equal(3);
    const [busy, idle] = pool.entries;
    pool.begin(busy);
    pool.remove(busy);
    pool.remove(idle);
    expect(tracked(shared).size).to.equal(2);
    pool.end(busy, true);
    expect(tracked(shared).size).to.equal(1);
  });

  it('keeps what it knows of a key that came back before the old entry retired', () => {
    const { pool, shared, specs } = rig(2);
    const [first] = pool.entries;
    shared.keyChanged(first);
    pool.begin(first);
    pool.remove(first);
    pool.add(specs[0]);
    pool.end(first, true);
    shared.forget(first);
    expect(tracked(shared).has(first.key)).to.equal(true);
  });

  it("applies another replica's figures for an account of 40,000 keys in one pass", () => {
    // The index was built by copying the account's list on every key: quadratic, far beyond mocha's timeout here.
    const { pool, store, clock } = rig(40_000, 'team');
    const now = clock.now();
    const id = fingerprint('team', 'account');
    const figures = { limit: 100, remaining: 7, seenAt: now, staleAt: now + 3_600_000 };
    const quota = { v: 1, kind: 'quota', at: now, models: [], exhaustion: null, strikes: null, balance: null };
    store.handlers?.apply({ ...quota, id, overall: figures });
    expect(pool.entries[39_999].account.overall).to.deep.equal(figures);
  });
});
