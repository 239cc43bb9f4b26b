// Issues 24 and 25 together: a named client's request that follows a model route. The allowlist matches the alias it
// asked for, one slot of its day is spent, and every upstream call the route made counts in its usage.
import { expect } from 'chai';
import { KEYS, chat, startRig, type Rig } from '../helpers.js';

const TOKEN = 'research-token-0123456789abcdef';
const [FIRST, NEXT] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];

describe('a named client on a model route', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('counts one request, one slot and every upstream call the route made (one per key for the used-up model)', async () => {
    rig = await startRig({
      clients: [{ name: 'research', token: TOKEN, dailyRequests: 10, models: ['coder'] }],
      modelRoutes: { coder: [FIRST, NEXT] },
    });
    for (const key of KEYS) rig.fake.modelQuota(key, FIRST, { limit: 200, remaining: 0 });
    const res = await chat(rig.url, { model: 'coder', messages: [] }, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).to.equal(200);
    expect(res.headers['x-modelscope-balance-model']).to.equal(NEXT);
    const calls = rig.fake.received.length;
    expect(calls).to.equal(KEYS.length + 1);
    const usage = await rig.balancer.usage('research');
    expect(usage).to.deep.include({ requests: 1, remaining: 9, upstream_calls: calls });
  });
});
