import { expect } from 'chai';
import { modelscopeBalance } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { startFakeModelScope } from '../../lib/testing/index.js';
import { startRedis } from '../fixtures/redis-server.js';
import { KEYS, chat, request, serveReplica, waitFor } from '../helpers.js';

const TEAM = 'team-token-0123456789abcdef';

describe("named clients: a daily budget is the fleet's", function () {
  this.timeout(30_000);

  it('three balancers on one redis-server serve 30 to 33 of 90 concurrent requests, dailyRequests 30', async () => {
    const redis = await startRedis();
    const fake = await startFakeModelScope();
    const balancers = [0, 1, 2].map(() =>
      modelscopeBalance({
        keys: KEYS,
        target: fake.url,
        healthCheck: false,
        store: new RedisStore({ url: redis.url, prefix: 'fleet-budget:' }),
        clients: [{ name: 'team', token: TEAM, dailyRequests: 30 }],
      }),
    );
    const replicas = await Promise.all(balancers.map((balancer) => serveReplica(balancer)));
    try {
      // Every replica on Redis before the load: a replica that is not yet counts on its own.
      const shared = async (url: string) => JSON.parse((await request(`${url}/health`)).body).store === 'ok';
      for (const replica of replicas) await waitFor(() => shared(replica.url), 3_000);
      const answers = await Promise.all(
        Array.from({ length: 90 }, (_, i) => chat(replicas[i % 3].url, undefined, { authorization: `Bearer ${TEAM}` })),
      );
      const statuses = answers.map((a) => a.status);
      const served = statuses.filter((s) => s === 200).length;
      expect(served).to.be.within(30, 33);
      expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).to.equal(true);
      expect(fake.count()).to.equal(served);
      const usage = await balancers[0].usage('team');
      expect(usage.requests).to.be.within(30, 33);
      expect(usage.remaining).to.equal(Math.max(0, 30 - usage.requests));
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await fake.close();
      await redis.stop();
    }
  });

  it("counts on each replica's own knowledge while Redis is down: what was left when it last heard", async () => {
    const redis = await startRedis();
    const fake = await startFakeModelScope();
    const balancers = [0, 1].map(() =>
      modelscopeBalance({
        keys: KEYS,
        target: fake.url,
        healthCheck: false,
        store: new RedisStore({ url: redis.url, prefix: 'fleet-down:' }),
        clients: [{ name: 'team', token: TEAM, dailyRequests: 10 }],
      }),
    );
    const replicas = await Promise.all(balancers.map((balancer) => serveReplica(balancer)));
    const store = async (url: string) => JSON.parse((await request(`${url}/health`)).body).store;
    const served = async (url: string, count: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < count; i++)
        statuses.push((await chat(url, undefined, { authorization: `Bearer ${TEAM}` })).status);
      return statuses.filter((status) => status === 200).length;
    };
    try {
      for (const replica of replicas) await waitFor(async () => (await store(replica.url)) === 'ok', 3_000);
      expect(await served(replicas[0].url, 4)).to.equal(4);
      await redis.kill();
      for (const replica of replicas) await waitFor(async () => (await store(replica.url)) === 'degraded', 5_000);
      expect(await served(replicas[0].url, 8)).to.equal(6);
      expect(await served(replicas[1].url, 12)).to.equal(10);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
      await fake.close();
      await redis.stop();
    }
  });
});
