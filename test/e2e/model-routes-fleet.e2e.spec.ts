import { expect } from 'chai';
import { modelscopeBalance } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { startRedis, type RedisProcess } from '../fixtures/redis-server.js';
import { KEYS, chat, request, serveReplica, waitFor } from '../helpers.js';

const [A, B] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];
const ask = { model: 'coder', messages: [{ role: 'user', content: 'hi' }] };
const callsOf = (fake: FakeModelScope, model: string) =>
  fake.received.filter((r) => r.body.includes(JSON.stringify(model))).length;

describe('model routes shared by two replicas on one Redis (real redis-server)', function () {
  this.timeout(30_000);
  let redis: RedisProcess;
  let fake: FakeModelScope;
  let replicas: Array<Awaited<ReturnType<typeof serveReplica>>> = [];

  beforeEach(async () => {
    redis = await startRedis();
    fake = await startFakeModelScope();
  });
  afterEach(async () => {
    for (const r of replicas) await r.close();
    replicas = [];
    await fake.close();
    await redis.stop();
  });

  it('a model found used up on every key through one replica is skipped by the other, with no call spent', async () => {
    for (let i = 0; i < 2; i++) {
      const balancer = modelscopeBalance({
        keys: KEYS,
        target: fake.url,
        healthCheck: false,
        modelRoutes: { coder: [A, B] },
        store: new RedisStore({ url: redis.url, prefix: 'routes:', flushMs: 50 }),
      });
      replicas.push(await serveReplica(balancer));
    }
    const [one, two] = replicas;
    for (const r of replicas) {
      await waitFor(async () => JSON.parse((await request(`${r.url}/health`)).body).store === 'ok', 3_000);
    }
    for (const key of KEYS) fake.modelQuota(key, A, { limit: 500, remaining: 0 });
    const first = await chat(one.url, ask);
    expect([first.status, first.headers['x-modelscope-balance-model']]).to.deep.equal([200, B]);
    expect(callsOf(fake, A)).to.equal(3);
    // The other replica learns it through the store: its /status shows the route on its fallback.
    await waitFor(async () => {
      const view = JSON.parse((await request(`${two.url}/status/data`)).body).view;
      return view.routes[0].on_fallback === true;
    }, 3_000);
    const second = await chat(two.url, ask);
    expect([second.status, second.headers['x-modelscope-balance-model']]).to.deep.equal([200, B]);
    expect(callsOf(fake, A), 'no call on the used-up model from the second replica').to.equal(3);
  });
});
