// Store v2: `publish` is the one required method; every other one is optional and has the default the interface
// documents, applied in one place (CompleteStore); every answer a request may wait for is bounded.
import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { type BalanceConfigError, modelscopeBalance, MemoryStore, type Store } from '../../lib/index.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { CompleteStore, STORE_WAIT_MS } from '../../lib/store/complete-store.js';
import { isStore, type StoreHandlers } from '../../lib/store/store.js';
import { captureLogger, KEYS } from '../helpers.js';

const HANDLERS: StoreHandlers = { apply() {}, rejected() {}, snapshot: () => [], members: () => [] };
const never = <T>() => new Promise<T>(() => undefined);

function configError(store: unknown): BalanceConfigError {
  try {
    resolveOptions({ keys: KEYS, store });
  } catch (error) {
    return error as BalanceConfigError;
  }
  throw new Error('accepted');
}

describe('Store v2: what the balancer takes as a store', () => {
  it('takes a store with `publish` alone, and answers the rest with the documented defaults', async () => {
    const published: unknown[] = [];
    const minimal = { publish: (update: unknown) => void published.push(update) };
    expect(isStore(minimal)).to.equal(true);
    const balancer = modelscopeBalance({ keys: KEYS, healthCheck: false, store: minimal });
    balancer.disableKey(Object.keys(balancer.stats())[0]);
    // Without `status` a store is taken as shared and reachable: it is handed changes.
    expect(published).to.have.length(1);
    const store = CompleteStore.of(minimal);
    expect(store.status()).to.equal('ok');
    expect(store.fleetCounts().size).to.equal(0);
    expect(await store.lookupTask('t')).to.equal(undefined);
    expect(await store.claimTrial('f', 1000)).to.equal(true);
    expect(await store.increment('n', 1, Date.now() + 1000)).to.equal(undefined);
    await store.readFleetCounts();
    store.count('f');
    store.rememberTask('t', 'f', 1000);
    await store.init(HANDLERS, captureLogger());
    await store.shutdown();
    await balancer.close();
  });

  it('refuses a store without `publish`, a method that is not one, and a Store v1, naming what is wrong', () => {
    const missing = configError({ status: () => 'ok' });
    expect(missing.code).to.equal('ERR_MSB_INVALID_OPTION');
    expect(missing.option).to.equal('store');
    expect(missing.message).to.include('has no `publish(update)` method');
    expect(configError({ publish() {}, lookupTask: 'yes' }).message).to.include('`lookupTask` that is not a method');
    expect(configError({ start() {}, publish() {}, close() {} }).message).to.include('`init(handlers)`');
    expect(configError('redis://127.0.0.1:6379').message).to.include('must be a Store object');
    expect(configError(null).message).to.include('must be a Store object');
    expect(isStore({ publish() {}, increment: 1 })).to.equal(false);
  });

  it('starts a store once and stops it once, whoever asks twice', async () => {
    const calls: string[] = [];
    const store = CompleteStore.of({
      publish() {},
      init: () => void calls.push('init'),
      shutdown: async () => void calls.push('shutdown'),
    });
    await Promise.all([store.init(HANDLERS, captureLogger()), store.init(HANDLERS, captureLogger())]);
    await Promise.all([store.shutdown(), store.shutdown()]);
    expect(calls).to.deep.equal(['init', 'shutdown']);
    expect(CompleteStore.of(store)).to.equal(store);
  });

  it('turns a failed start into one warning and a degraded store, and a throwing method into one warning', async () => {
    const logger = captureLogger();
    const store = CompleteStore.of({
      status: () => 'ok',
      init: () => Promise.reject(new Error('no database')),
      publish() {
        throw new Error('bug');
      },
    });
    await store.init(HANDLERS, logger);
    expect(store.status()).to.equal('degraded');
    store.publish({ v: 1, kind: 'hold', id: 'f'.repeat(32), at: 1, held: true });
    store.publish({ v: 1, kind: 'hold', id: 'f'.repeat(32), at: 2, held: true });
    expect(logger.lines.map((line) => line.msg)).to.deep.equal([
      "shared store failed to start: serving on this replica's own key state",
      'shared store method threw: ignored',
    ]);
    expect(logger.text()).to.include('no database');
  });
});

describe('Store v2: answers a request may wait for are bounded', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  it(`waits ${STORE_WAIT_MS} ms at most, then takes the default`, async () => {
    const store = CompleteStore.of({
      publish() {},
      lookupTask: never,
      claimTrial: never,
      increment: never,
      readFleetCounts: never,
    });
    const answers = Promise.all([
      store.lookupTask('t'),
      store.claimTrial('f', 1000),
      store.increment('n', 1, 1),
      store.readFleetCounts(),
    ]);
    await clock.tickAsync(STORE_WAIT_MS);
    expect(await answers).to.deep.equal([undefined, true, undefined, undefined]);
  });

  it('takes the default on a rejection or a nonsense answer, and asks nothing while degraded', async () => {
    let asked = 0;
    const failing = CompleteStore.of({
      publish() {},
      lookupTask: () => Promise.reject(new Error('down')),
      claimTrial: () => Promise.reject(new Error('down')),
      increment: () => Promise.resolve(Number.NaN),
    });
    expect(await failing.lookupTask('t')).to.equal(undefined);
    expect(await failing.claimTrial('f', 1)).to.equal(true);
    expect(await failing.increment('n', 1, 1)).to.equal(undefined);
    const degraded = CompleteStore.of({
      publish() {},
      status: () => 'degraded',
      lookupTask: async () => {
        asked++;
        return 'f';
      },
    });
    expect(await degraded.lookupTask('t')).to.equal(undefined);
    expect(asked).to.equal(0);
  });

  it('refuses a counter step that is not a whole number (a bug in the caller, not a store problem)', () => {
    const store = CompleteStore.of(new MemoryStore());
    expect(() => store.increment('n', 0.5, 1)).to.throw(RangeError, '`by`');
    expect(() => store.increment('n', 1, Number.NaN)).to.throw(RangeError, '`expiresAt`');
  });
});

describe('MemoryStore', () => {
  it('says local, and keeps counters that start again from 0 once they end', async () => {
    let now = 1_000;
    const store: Store = new MemoryStore({ now: () => now });
    expect(store.status?.()).to.equal('local');
    expect(await store.increment?.('a', 2, 2_000)).to.equal(2);
    expect(await store.increment?.('a', 3, 2_000)).to.equal(5);
    expect(await store.increment?.('a', -1, 2_000)).to.equal(4);
    expect(await store.increment?.('b', 1, 2_000)).to.equal(1);
    now = 2_000;
    expect(await store.increment?.('a', 1, 3_000)).to.equal(1);
  });

  it('sweeps counters that ended, so one per day per client does not pile up', async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    for (let day = 0; day < 5_000; day++) {
      now = day * 10;
      await store.increment(`client:day-${day}`, 1, now + 10);
    }
    expect((store as unknown as { counters: Map<string, unknown> }).counters.size).to.be.below(2_100);
  });
});
