import { expect } from 'chai';
import { KeyPool, type PoolEvents } from '../../lib/pool/pool.js';
import { SharedState } from '../../lib/store/shared-state.js';
import type { SharedUpdate, Store, StoreHandlers } from '../../lib/store/store.js';
import { KEYS, manualClock, poolSettings } from '../helpers.js';

/** A store that hands every change, as JSON (as Redis would), to the other replicas at once. */
class LinkedStore implements Store {
  handlers: StoreHandlers | undefined;
  constructor(private readonly fleet: LinkedStore[]) {
    fleet.push(this);
  }
  init(handlers: StoreHandlers): void {
    this.handlers = handlers;
  }
  publish(update: SharedUpdate): void {
    const wire = JSON.stringify(update);
    for (const other of this.fleet) if (other !== this) other.handlers?.apply(JSON.parse(wire) as SharedUpdate);
  }
}

function replica(fleet: LinkedStore[], clock: ReturnType<typeof manualClock>) {
  let shared!: SharedState;
  const events: PoolEvents = {
    transition() {},
    exhausted() {},
    throttled() {},
    stateChanged: (entry) => shared.keyChanged(entry),
    quotaChanged: (entry) => shared.quotaChanged(entry),
  };
  const keys = KEYS.map((key, i) => ({ key, label: `k${i}`, weight: 1, account: key, ownAccount: true }));
  const pool = new KeyPool(keys, poolSettings(clock.now), events);
  shared = new SharedState(pool, new LinkedStore(fleet));
  shared.start();
  return pool;
}

const limited = { status: 429, reason: 'rate limited (429, no quota counters)', at: 0 };

describe('an exhaustion inferred on one replica, shared through the store', () => {
  it('holds the key on the other replica too, one trial per period for the fleet, freed by a success', () => {
    const clock = manualClock(Date.parse('2026-03-01T02:00:00Z'));
    const fleet: LinkedStore[] = [];
    const [a, b] = [replica(fleet, clock), replica(fleet, clock)];
    // Three 429s without counters on replica a, each after the cooldown of the one before.
    for (const wait of [0, 5_000, 10_000]) {
      clock.advance(wait);
      a.rateLimited(a.entries[0], undefined, limited, false);
    }
    const now = clock.now();
    expect(a.entries[0].account.exhaustionView(now)?.source).to.equal('inferred');
    const seen = b.entries[0].account.exhaustionView(now);
    expect(seen).to.deep.include({ source: 'inferred', until: Date.parse('2026-03-01T16:00:00Z') });
    expect(seen?.nextTrialAt).to.equal(now + 1_800_000);
    expect(b.isUsable(b.entries[0], now + 60_000)).to.equal(false);

    // The trial is due: replica b takes it, and replica a then waits a whole period more.
    clock.set(now + 1_800_000);
    expect(b.select()).to.equal(b.entries[0]);
    b.begin(b.entries[0]);
    expect(a.isUsable(a.entries[0], clock.now())).to.equal(false);
    expect(a.entries[0].account.exhaustionView(clock.now())?.nextTrialAt).to.equal(clock.now() + 1_800_000);

    // The trial succeeds on b: a has the key back at once.
    b.succeeded(b.entries[0]);
    b.end(b.entries[0], false);
    expect(a.entries[0].account.exhaustionView(clock.now())).to.equal(null);
    expect(a.isUsable(a.entries[0], clock.now())).to.equal(true);
    expect(a.entries[0].account.strikesNow(clock.now())).to.equal(0);
  });

  it('adds up the 429s seen by several replicas toward the inference', () => {
    const clock = manualClock(Date.parse('2026-03-01T02:00:00Z'));
    const fleet: LinkedStore[] = [];
    const [a, b] = [replica(fleet, clock), replica(fleet, clock)];
    a.rateLimited(a.entries[1], undefined, limited, false);
    clock.advance(5_000);
    b.rateLimited(b.entries[1], undefined, limited, false);
    clock.advance(10_000);
    a.rateLimited(a.entries[1], undefined, limited, false);
    expect(b.entries[1].account.exhaustionView(clock.now())?.source).to.equal('inferred');
  });
});
