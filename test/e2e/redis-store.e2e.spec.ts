import type http from 'node:http';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { modelscopeBalance, type Balancer } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { IOREDIS_URL, REDIS_CLIENT_WAYS, type RedisClientWay } from '../fixtures/redis-clients.js';
import { startRedis, type RedisProcess } from '../fixtures/redis-server.js';
import { KEYS, assertNoKeyIn, captureLogger, chat, request, serveReplica, waitFor } from '../helpers.js';

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
  logger = captureLogger(),
): Promise<Replica> {
  const store = new RedisStore({ ...way.storeOptions(redisUrl), prefix: 'test:', flushMs: 50, countMs: 200, logger });
  const balancer = modelscopeBalance({
    keys: KEYS,
    target: fake.url,
    healthCheck: false,
    store,
    logger,
    cooldown: { baseMs: 60_000, maxMs: 120_000 },
  });
  return { balancer, ...(await serveReplica(balancer)) };
}

const stateOf = (r: Replica, i: number) => Object.values(r.balancer.stats())[i].state;

for (const way of REDIS_CLIENT_WAYS)
  describe(`several replicas, one pool: the Redis store (real redis-server, ${way.name})`, function () {
    this.timeout(30_000);
    let redis: RedisProcess;
    let fake: FakeModelScope;
    let replicas: Replica[] = [];

    beforeEach(async () => {
      redis = await startRedis();
      fake = await startFakeModelScope();
      replicas = [await replica(way, fake, redis.url), await replica(way, fake, redis.url)];
      const shared = async (r: Replica) => JSON.parse((await request(`${r.url}/health`)).body).store === 'ok';
      await waitFor(async () => (await shared(replicas[0])) && shared(replicas[1]), 3_000);
    });
    afterEach(async () => {
      for (const r of replicas) await r.close();
      await way.closeAll();
      await fake.close();
      await redis.stop();
    });

    it(
      'honours a 429, a 401 and an exhausted quota seen by one replica on the other within a second, and after a ' +
        'restart',
      async () => {
        const [a, b] = replicas;
        fake.behave(KEYS[0], { retryAfterSeconds: 60 });
        fake.behave(KEYS[1], 'unauthorized');
        fake.behave(KEYS[2], 'quota-exhausted');
        await chat(a.url);
        expect([stateOf(a, 0), stateOf(a, 1), stateOf(a, 2)]).to.deep.equal(['cooling', 'invalid', 'exhausted']);
        await waitFor(
          () => stateOf(b, 0) === 'cooling' && stateOf(b, 1) === 'invalid' && stateOf(b, 2) === 'exhausted',
          1_000,
        );
        const before = fake.count();
        const answer = await chat(b.url);
        expect(answer.status).to.equal(429);
        expect(fake.count()).to.equal(before);
        // A replica started later (or restarted) loads the shared state.
        const c = await replica(way, fake, redis.url);
        replicas.push(c);
        await waitFor(
          () => stateOf(c, 0) === 'cooling' && stateOf(c, 1) === 'invalid' && stateOf(c, 2) === 'exhausted',
          2_000,
        );
      },
    );

    it('sends a task poll through either replica to the key that submitted it', async () => {
      const [a, b] = replicas;
      const submitted = await request(`${a.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-modelscope-async-mode': 'true' },
        body: '{"prompt":"a cat"}',
      });
      const { task_id: taskId } = JSON.parse(submitted.body);
      const admin = new Redis(redis.url);
      await waitFor(async () => (await admin.exists(`test:task:${taskId}`)) === 1);
      admin.disconnect();
      for (let i = 0; i < 3; i++) expect((await request(`${b.url}/v1/tasks/${taskId}`)).status).to.equal(200);
    });

    it(
      'keeps serving when Redis dies mid-traffic, shows the store degraded, and shares again once it is ' + 'back',
      async () => {
        const [a, b] = replicas;
        const logger = captureLogger();
        replicas.push(await replica(way, fake, redis.url, logger));
        let stop = false;
        const slow: number[] = [];
        const statuses: number[] = [];
        const traffic = (async () => {
          while (!stop) {
            const started = performance.now();
            statuses.push((await chat(a.url)).status);
            if (performance.now() - started > 500) slow.push(performance.now() - started);
          }
        })();
        await waitFor(() => statuses.length >= 5);
        await redis.kill();
        await waitFor(async () => JSON.parse((await request(`${a.url}/health`)).body).store === 'degraded', 3_000);
        const health = JSON.parse((await request(`${a.url}/health`)).body);
        expect(health).to.include({ status: 'ok', store: 'degraded' });
        expect((await request(`${a.url}/metrics`)).body).to.match(/modelscope_balance_store_up 0/);
        // Traffic goes on while Redis is away.
        const duringOutage = statuses.length;
        await waitFor(() => statuses.length >= duringOutage + 5);
        await redis.restart();
        await waitFor(async () => JSON.parse((await request(`${b.url}/health`)).body).store === 'ok', 8_000);
        await waitFor(async () => JSON.parse((await request(`${a.url}/health`)).body).store === 'ok', 8_000);
        // And after it is back: traffic was served before, during and after the outage (how much depends on the
        // machine's speed, so it is counted in phases, not in total).
        const afterOutage = statuses.length;
        await waitFor(() => statuses.length >= afterOutage + 5);
        stop = true;
        await traffic;
        expect(statuses.length).to.be.at.least(15);
        expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);
        expect(slow).to.deep.equal([]);
        expect(logger.lines.filter((l) => /shared store unreachable/.test(l.msg ?? ''))).to.have.length(1);
        // Sharing resumed: a new 429 on a reaches b.
        fake.behave(KEYS[1], { retryAfterSeconds: 60 });
        for (let i = 0; i < 3; i++) await chat(a.url);
        await waitFor(() => stateOf(b, 1) === 'cooling', 2_000);
      },
    );

    it(
      'costs fewer Redis commands than half the requests in steady traffic, and Redis holds no piece of a ' + 'key',
      async () => {
        const [a, b] = replicas;
        const admin = new Redis(redis.url);
        const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const before = await commands();
        const requests = 300;
        for (let i = 0; i < requests; i += 10)
          await Promise.all(Array.from({ length: 10 }, (_, j) => chat((i + j) % 2 ? a.url : b.url)));
        await new Promise((resolve) => setTimeout(resolve, 400));
        const used = (await commands()) - before - 1;
        expect(used).to.be.below(requests / 2);
        // Read fresh: fleet counts are pulled from Redis when someone asks.
        const stats = JSON.parse((await request(`${b.url}/stats`)).body) as Record<string, object>;
        expect(
          Object.values(stats).reduce((sum, s) => sum + ((s as { fleet_requests?: number }).fleet_requests ?? 0), 0),
        ).to.equal(requests);
        fake.behave(KEYS[0], { status: 429, body: { errors: { message: `limit for ${KEYS[0]}` } } });
        await chat(a.url);
        await request(`${a.url}/v1/images/generations`, {
          method: 'POST',
          headers: { 'x-modelscope-async-mode': 'true' },
          body: '{}',
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        let dump = '';
        for (const name of await admin.keys('*')) {
          const type = await admin.type(name);
          const value = type === 'hash' ? await admin.hgetall(name) : type === 'string' ? await admin.get(name) : type;
          dump += `${name} ${JSON.stringify(value)}\n`;
        }
        expect(dump).to.include('test:state');
        assertNoKeyIn(dump);
        admin.disconnect();
      },
    );

    // The standalone server always goes through a URL.
    if (way === IOREDIS_URL)
      it("is chosen by the example server's redis_url (a password in it works and is never logged)", async () => {
        const secured = await startRedis('redis-secret-pw-0001');
        const { settingsFor } = await import('../fixtures/example-settings.js');
        const { startServer } = await import('../../example/create-server.js');
        const { createLogger } = await import('../../example/logger.js');
        let logged = '';
        const logger = createLogger('debug', KEYS, { write: (line: string) => void (logged += line) });
        const settings = settingsFor(fake, { redis_url: secured.url, redis_prefix: 'srv:' });
        const running = await startServer(settings, logger);
        try {
          await waitFor(
            async () => JSON.parse((await request(`http://127.0.0.1:${running.port}/health`)).body).store === 'ok',
            3_000,
          );
          expect((await chat(`http://127.0.0.1:${running.port}`)).status).to.equal(200);
          await secured.kill();
          await waitFor(
            async () =>
              JSON.parse((await request(`http://127.0.0.1:${running.port}/health`)).body).store === 'degraded',
            3_000,
          );
          await waitFor(() => logged.includes('shared store unreachable'), 3_000);
          expect(logged).not.to.include('redis-secret-pw-0001');
        } finally {
          await running.shutdown();
          await secured.stop();
        }
      });
  });
