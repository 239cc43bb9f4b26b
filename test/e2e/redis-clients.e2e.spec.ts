// The Redis store's one adapter, against every client it accepts (ioredis from a URL or given, node-redis v4, v5
// and v6) and a real redis-server: the same commands, scripts, subscription and outage behaviour with each.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisStore } from '../../lib/redis.js';
import type { SharedUpdate, StoreHandlers } from '../../lib/store/store.js';
import { EVERY_CLIENT, IOREDIS_URL } from '../fixtures/redis-clients.js';
import { startRedis, type RedisProcess } from '../fixtures/redis-server.js';
import { waitFor } from '../helpers.js';

const FINGERPRINT = 'f'.repeat(32);

/** Handlers that keep what the store hands over. */
function handlers(members: string[] = [FINGERPRINT]) {
  const applied: unknown[] = [];
  return {
    applied,
    apply: (update: unknown) => void applied.push(update),
    rejected: () => undefined,
    snapshot: () => [],
    members: () => members,
  } satisfies StoreHandlers & { applied: unknown[] };
}

const update = (at: number): SharedUpdate => ({ v: 1, kind: 'hold', id: FINGERPRINT, at, held: true });

/** How many values the store had handed over at the first turn of the event loop where it said 'ok'. */
function appliedWhenOk(store: RedisStore, seen: { applied: unknown[] }): Promise<number> {
  return new Promise((resolve) => {
    const poll = () => (store.status() === 'ok' ? resolve(seen.applied.length) : setImmediate(poll));
    poll();
  });
}

for (const way of EVERY_CLIENT)
  describe(`the Redis store through ${way.name} (real redis-server)`, function () {
    this.timeout(20_000);
    let redis: RedisProcess;
    let admin: Redis;
    const stores: RedisStore[] = [];
    const store = (countMs = 50) => {
      const made = new RedisStore({ ...way.storeOptions(redis.url), prefix: 'c:', flushMs: 20, countMs });
      stores.push(made);
      return made;
    };

    beforeEach(async () => {
      redis = await startRedis();
      admin = new Redis(redis.url);
      admin.on('error', () => undefined); // Redis is killed on purpose
    });
    afterEach(async () => {
      for (const made of stores.splice(0)) await made.shutdown();
      await way.closeAll();
      admin.disconnect();
      await redis.stop();
    });

    it('connects on init, not before, and shares updates, tasks, trials, counters and counts', async () => {
      const [a, b] = [store(), store()];
      expect(a.status()).to.equal('degraded');
      expect(a.client).to.equal(undefined);
      const [seenByA, seenByB] = [handlers(), handlers()];
      await Promise.all([a.init(seenByA), b.init(seenByB)]);
      await waitFor(() => a.status() === 'ok' && b.status() === 'ok');
      expect(a.clientKind).to.equal(way.name.includes('node-redis') ? 'node-redis' : 'ioredis');

      a.publish(update(1));
      await waitFor(() => seenByB.applied.length === 1);
      expect(seenByB.applied[0]).to.deep.equal(update(1));
      expect(seenByA.applied).to.deep.equal([]);
      // A store started later loads the state hash (a map under RESP3, a flat array under RESP2), and says 'ok'
      // only once it has: a replica that reports healthy sharing knows what the fleet knows.
      const late = store();
      const seenLate = handlers();
      const loadedWhenOk = appliedWhenOk(late, seenLate);
      await late.init(seenLate);
      expect(await loadedWhenOk).to.equal(1);

      a.rememberTask('task-1', FINGERPRINT, 60_000);
      await waitFor(async () => (await b.lookupTask('task-1')) === FINGERPRINT);
      expect(await b.lookupTask('task-2')).to.equal(undefined);

      expect(await a.claimTrial(FINGERPRINT, 60_000)).to.equal(true);
      expect(await b.claimTrial(FINGERPRINT, 60_000)).to.equal(false);

      const end = Date.now() + 60_000;
      expect(await a.increment('client:research', 2, end)).to.equal(2);
      expect(await b.increment('client:research', 3, end)).to.equal(5);
      expect(await b.increment('client:research', 0, end)).to.equal(5);
      expect(await admin.pttl('c:counter:client:research')).to.be.within(1, 60_000);

      for (let i = 0; i < 3; i++) a.count(FINGERPRINT);
      await waitFor(async () => {
        await b.readFleetCounts();
        return b.fleetCounts().get(FINGERPRINT) === 3;
      });
    });

    it('queues nothing while Redis is away, says degraded, and shares again once it is back', async () => {
      const [a, b] = [store(), store()];
      const [seenByA, seenByB] = [handlers(), handlers()];
      await Promise.all([a.init(seenByA), b.init(seenByB)]);
      await waitFor(() => a.status() === 'ok' && b.status() === 'ok');
      await redis.kill();
      await waitFor(() => a.status() === 'degraded');
      // Rejected, not queued until Redis returns (a queued command would hang this test).
      const failed = await a.lookupTask('task-1').then(
        () => 'answered',
        () => 'rejected',
      );
      expect(failed).to.equal('rejected');
      a.publish(update(2));
      await redis.restart();
      await waitFor(() => a.status() === 'ok' && b.status() === 'ok', 8_000).catch(() => {
        throw new Error(`still ${a.status()} and ${b.status()} after Redis came back`);
      });
      // The change made while Redis was away is sent once it is back.
      await waitFor(() => seenByB.applied.some((u) => (u as SharedUpdate).at === 2), 3_000);
    });

    it('closes what it opened and leaves a client it was given open', async () => {
      const a = store();
      await a.init(handlers());
      await waitFor(() => a.status() === 'ok');
      const client = a.client as { status?: string; call?(c: string): Promise<unknown> } & {
        isReady?: boolean;
        sendCommand?(args: string[]): Promise<unknown>;
      };
      await a.shutdown();
      if (way === IOREDIS_URL) return waitFor(() => client.status === 'end');
      // Still the caller's, and still working.
      expect(await (client.call ? client.call('PING') : client.sendCommand?.(['PING']))).to.equal('PONG');
    });
  });
