// The contract of a store's `increment(name, by, expiresAt)` (the counters a fleet-wide daily budget counts on),
// run against every store that has it: the MemoryStore, and the RedisStore through each client it accepts against a
// real redis-server. A counter answers its new total, and ends at `expiresAt`: from then on it starts again from 0.
import { expect } from 'chai';
import { MemoryStore, type Store, type StoreHandlers } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { REDIS_CLIENT_WAYS } from '../fixtures/redis-clients.js';
import { type RedisProcess, startRedis } from '../fixtures/redis-server.js';
import { waitFor } from '../helpers.js';

const HANDLERS: StoreHandlers = { apply() {}, rejected() {}, snapshot: () => [], members: () => [] };

/** A way of making stores for one test, and of releasing what it made. */
interface Subject {
  name: string;
  /** Whether two stores it makes share their counters (the fleet's), or each keeps its own. */
  shared: boolean;
  setup(): Promise<void>;
  make(): Promise<Store & Required<Pick<Store, 'increment'>>>;
  teardown(): Promise<void>;
}

function memorySubject(): Subject {
  return {
    name: 'MemoryStore',
    shared: false,
    setup: async () => undefined,
    make: async () => new MemoryStore(),
    teardown: async () => undefined,
  };
}

function redisSubject(way: (typeof REDIS_CLIENT_WAYS)[number]): Subject {
  let redis: RedisProcess;
  const stores: RedisStore[] = [];
  return {
    name: `RedisStore through ${way.name} (real redis-server)`,
    shared: true,
    async setup() {
      redis = await startRedis();
    },
    async make() {
      const store = new RedisStore({ ...way.storeOptions(redis.url), prefix: 'inc:' });
      stores.push(store);
      await store.init(HANDLERS);
      await waitFor(() => store.status() === 'ok');
      return store;
    },
    async teardown() {
      for (const store of stores.splice(0)) await store.shutdown();
      await way.closeAll();
      await redis.stop();
    },
  };
}

const SUBJECTS = [memorySubject(), ...REDIS_CLIENT_WAYS.map(redisSubject)];

for (const subject of SUBJECTS)
  describe(`the increment contract: ${subject.name}`, function () {
    this.timeout(20_000);
    beforeEach(() => subject.setup());
    afterEach(() => subject.teardown());

    it('adds `by` and answers the new total: 0 reads, a negative step gives back, names are apart', async () => {
      const store = await subject.make();
      const end = Date.now() + 60_000;
      expect(await store.increment('client:a:2026-03-01', 2, end)).to.equal(2);
      expect(await store.increment('client:a:2026-03-01', 3, end)).to.equal(5);
      expect(await store.increment('client:a:2026-03-01', 0, end)).to.equal(5);
      expect(await store.increment('client:a:2026-03-01', -1, end)).to.equal(4);
      expect(await store.increment('client:b:2026-03-01', 1, end)).to.equal(1);
      expect(await store.increment('client:a:2026-03-02', 0, end)).to.equal(0);
    });

    it('ends the counter at `expiresAt`: from then on it starts again from 0', async () => {
      const store = await subject.make();
      const end = Date.now() + 150;
      expect(await store.increment('day', 7, end)).to.equal(7);
      // Reading with the same end moves nothing: the counter still ends then.
      await waitFor(async () => (await store.increment('day', 0, end)) === 0, 3_000);
      const next = Date.now() + 60_000;
      expect(await store.increment('day', 2, next)).to.equal(2);
      expect(await store.increment('day', 1, next)).to.equal(3);
    });

    it('keeps nothing past an end that has already passed', async () => {
      const store = await subject.make();
      const past = Date.now() - 1;
      expect(await store.increment('gone', 4, past)).to.equal(4);
      expect(await store.increment('gone', 4, past)).to.equal(4);
    });

    it(subject.shared ? 'is one counter for every store of the fleet' : 'is one counter per store', async () => {
      const [a, b] = [await subject.make(), await subject.make()];
      const end = Date.now() + 60_000;
      await a.increment('fleet', 2, end);
      expect(await b.increment('fleet', 3, end)).to.equal(subject.shared ? 5 : 3);
    });
  });
