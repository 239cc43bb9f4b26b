import type http from 'node:http';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { modelscopeBalance, type Balancer, type BalanceOptions } from '../../lib/index.js';
import { RedisStore, type RedisStoreOptions } from '../../lib/redis.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { REDIS_CLIENT_WAYS, type RedisClientWay } from '../fixtures/redis-clients.js';
import { startRedis, type RedisProcess } from '../fixtures/redis-server.js';
import { KEYS, chat, request, serveReplica, waitFor } from '../helpers.js';

const ADMIN = 'admin-token-fleet-000000001';
const auth = { authorization: `Bearer ${ADMIN}` };

interface Replica {
  balancer: Balancer;
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

async function replica(
  way: RedisClientWay,
  fake: FakeModelScope,
  redisUrl: string,
  options: Partial<BalanceOptions> = {},
  store: Partial<RedisStoreOptions> = {},
): Promise<Replica> {
  const balancer = modelscopeBalance({
    keys: KEYS,
    target: fake.url,
    healthCheck: false,
    adminToken: ADMIN,
    store: new RedisStore({ ...way.storeOptions(redisUrl), prefix: 'fleet:', flushMs: 50, countMs: 200, ...store }),
    ...options,
  });
  return { balancer, ...(await serveReplica(balancer)) };
}

const storeUp = async (r: Replica) => JSON.parse((await request(`${r.url}/health`)).body).store === 'ok';
const stats = async (r: Replica) =>
  JSON.parse((await request(`${r.url}/stats`, { headers: auth })).body) as Record<
    string,
    { state: string; fleet_requests?: number }
  >;
const fleetTotal = async (r: Replica) =>
  Object.values(await stats(r)).reduce((sum, s) => sum + (s.fleet_requests ?? 0), 0);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const way of REDIS_CLIENT_WAYS)
  describe(`a fleet of replicas on one Redis (real redis-server, ${way.name})`, function () {
    this.timeout(30_000);
    let redis: RedisProcess;
    let fake: FakeModelScope;
    let admin: Redis;
    let replicas: Replica[] = [];
    const start = async (n: number, options?: Partial<BalanceOptions>, store?: Partial<RedisStoreOptions>) => {
      for (let i = 0; i < n; i++) replicas.push(await replica(way, fake, redis.url, options, store));
      for (const r of replicas) await waitFor(() => storeUp(r), 3_000);
    };
    const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);

    beforeEach(async () => {
      redis = await startRedis();
      fake = await startFakeModelScope();
      admin = new Redis(redis.url);
      admin.on('error', () => undefined); // Redis is killed on purpose
    });
    afterEach(async () => {
      for (const r of replicas) await r.close();
      replicas = [];
      await way.closeAll();
      admin.disconnect();
      await fake.close();
      await redis.stop();
    });

    it('obeys a hold made on one replica on the others within 2 s, and says which replica answered', async () => {
      await start(3);
      const [a, b, c] = replicas;
      const label = Object.keys(a.balancer.stats())[0];
      const held = await request(`${a.url}/admin/keys/${encodeURIComponent(label)}/disable`, {
        method: 'POST',
        headers: auth,
      });
      const answer = JSON.parse(held.body);
      expect(answer).to.include({ disabled: true, scope: 'fleet' });
      expect(held.headers['x-modelscope-balance-replica'])
        .to.equal(answer.replica)
        .and.match(/.+:\d+$/);
      await waitFor(async () => (await stats(b))[label].state === 'disabled', 2_000);
      await waitFor(async () => (await stats(c))[label].state === 'disabled', 2_000);
      // Held everywhere: nothing reaches the upstream with that key through any replica.
      for (const r of replicas) for (let i = 0; i < 3; i++) expect((await chat(r.url)).status).to.equal(200);
      expect(fake.received.filter((r) => r.key === KEYS[0])).to.have.length(0);
      // A replica started later loads the hold; a release reaches everyone.
      const late = await replica(way, fake, redis.url);
      replicas.push(late);
      await waitFor(async () => (await stats(late))[label].state === 'disabled', 2_000);
      const released = await request(`${c.url}/admin/keys/${encodeURIComponent(label)}/enable`, {
        method: 'POST',
        headers: auth,
      });
      expect(JSON.parse(released.body)).to.include({ disabled: false, scope: 'fleet' });
      for (const r of [a, b, late]) await waitFor(async () => (await stats(r))[label].state === 'healthy', 2_000);
      // Membership stays per replica, and says so.
      const added = await request(`${a.url}/admin/keys`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'ms-44444444-aaaa-4bbb-8ccc-000000000004', label: 'dave' }),
      });
      expect(JSON.parse(added.body)).to.include({ label: 'dave', scope: 'this replica' });
      expect(Object.keys(await stats(b))).not.to.include('dave');
    });

    it('an idle fleet of three sends under 1 Redis command a second; counts are written only if any', async () => {
      await start(3);
      await pause(600); // start-up writes settle
      const before = await commands();
      await pause(3_000);
      const idle = (await commands()) - before - 1; // less our own INFO
      expect(idle / 3).to.be.below(1);
      // Traffic, then idle again: one batch of counts per replica, then nothing.
      for (let i = 0; i < 30; i++) await chat(replicas[i % 3].url);
      await pause(600);
      const afterTraffic = await commands();
      await pause(1_500);
      expect((await commands()) - afterTraffic - 1).to.be.at.most(1);
      expect(await fleetTotal(replicas[0])).to.equal(30);
    });

    it('fleet counts survive Redis coming back empty: every replica writes its totals again', async () => {
      await start(2);
      const [a, b] = replicas;
      for (let i = 0; i < 10; i++) await chat((i % 2 ? a : b).url);
      await waitFor(async () => (await fleetTotal(a)) === 10, 2_000);
      await redis.kill();
      await redis.restart();
      for (const r of replicas) await waitFor(() => storeUp(r), 8_000);
      await waitFor(async () => (await fleetTotal(a)) === 10 && (await fleetTotal(b)) === 10, 3_000);
      expect(Number(await admin.hlen('fleet:count'))).to.equal(Object.keys(a.balancer.stats()).length * 2);
    });

    it('sends one trial request per fleet for a refused key per period', async () => {
      const options = { keys: [KEYS[0]], invalidKeyRetryMs: 400 };
      await start(3, options);
      fake.behave(KEYS[0], 'unauthorized');
      expect((await chat(replicas[0].url)).status).to.equal(503);
      const label = Object.keys(replicas[0].balancer.stats())[0];
      for (const r of replicas) await waitFor(async () => (await stats(r))[label].state === 'invalid', 2_000);
      await pause(450);
      const sent = fake.count();
      // Every replica is due a trial now; together they send one.
      const answers = await Promise.all(replicas.flatMap((r) => [chat(r.url), chat(r.url)]));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(6).fill(503));
      expect(fake.count() - sent).to.equal(1);
    });

    it('prunes the fields of a key that left every replica, and folds the counts of a replica gone', async () => {
      await start(2, {}, { heartbeatMs: 100 });
      const [a, b] = replicas;
      fake.behave(KEYS[2], { retryAfterSeconds: 60 });
      for (let i = 0; i < 6; i++) await chat((i % 2 ? a : b).url);
      const fields = async () => Object.keys(await admin.hgetall('fleet:state')).join(' ');
      const fingerprint = (await import('../../lib/store/store.js')).fingerprint(KEYS[2]);
      await waitFor(async () => (await fields()).includes(`key:${fingerprint}`), 2_000);
      const label = Object.keys(a.balancer.stats())[2];
      a.balancer.removeKey(label);
      // a's next heartbeat lists it no more (and its prune follows): b's list alone keeps the key's fields.
      const holders = async () => {
        let n = 0;
        for (const set of await admin.keys('fleet:members:*')) n += await admin.sismember(set, fingerprint);
        return n;
      };
      await waitFor(async () => (await holders()) === 1);
      expect(await fields(), 'b still holds it').to.include(`key:${fingerprint}`);
      b.balancer.removeKey(label);
      await waitFor(async () => !(await fields()).includes(fingerprint), 3_000);
      await waitFor(async () => !Object.keys(await admin.hgetall('fleet:count')).some((f) => f.endsWith(fingerprint)));
      // b leaves: its counts are folded into "retired" by a's next prune; the fleet's total does not change.
      // Every request sent with the keys left, written by both and read by a.
      const total = fake.received.filter((r) => r.key !== KEYS[2]).length;
      await waitFor(async () => (await fleetTotal(a)) === total);
      await b.close();
      replicas = [a];
      await waitFor(async () => Object.keys(await admin.hgetall('fleet:count')).some((f) => f.startsWith('retired:')));
      await pause(250);
      expect(await fleetTotal(a)).to.equal(total);
    });
  });
