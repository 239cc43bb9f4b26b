import { expect } from 'chai';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, request } from '../helpers.js';

const ask = (fake: FakeModelScope, key: string, model = 'Qwen/Qwen2.5-7B-Instruct') =>
  request(`${fake.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('the imitation in either world: counters or none, calls or points', () => {
  let fake: FakeModelScope;
  afterEach(async () => fake?.close());

  it('sends no quota headers at all with counters: false, and refuses a used-up day with a plain 429', async () => {
    fake = await startFakeModelScope({ counters: false });
    fake.quota(KEYS[0], { limit: 2, remaining: 1 });
    const ok = await ask(fake, KEYS[0]);
    expect(ok.status).to.equal(200);
    expect(Object.keys(ok.headers).filter((name) => name.startsWith('modelscope-ratelimit'))).to.deep.equal([]);
    const refused = await ask(fake, KEYS[0]);
    expect(refused.status).to.equal(429);
    expect(Object.keys(refused.headers).filter((name) => name.startsWith('modelscope-ratelimit'))).to.deep.equal([]);
    expect(JSON.parse(refused.body).errors.message).to.equal('Request limit exceeded.');
    fake.behave(KEYS[1], 'quota-exhausted');
    expect((await ask(fake, KEYS[1])).headers['modelscope-ratelimit-requests-remaining']).to.equal(undefined);
  });

  it('meters points with a per-model cost, answers the 403 balance shape when they run out, and refills', async () => {
    fake = await startFakeModelScope({ counters: false });
    fake.points(KEYS[0], { daily: 5, costs: { 'deepseek-ai/DeepSeek-V3.1': 2 } });
    expect((await ask(fake, KEYS[0], 'deepseek-ai/DeepSeek-V3.1')).status).to.equal(200);
    expect((await ask(fake, KEYS[0], 'deepseek-ai/DeepSeek-V3.1')).status).to.equal(200);
    expect(fake.pointsLeft(KEYS[0])).to.equal(1);
    const refused = await ask(fake, KEYS[0], 'deepseek-ai/DeepSeek-V3.1');
    expect(refused.status).to.equal(403);
    expect(JSON.parse(refused.body).errors).to.include({
      code: 'QuotaLimitExceed',
      message: 'magicube balance exhausted',
    });
    expect((await ask(fake, KEYS[0])).status).to.equal(200);
    expect(fake.pointsLeft(KEYS[0])).to.equal(0);

    const balance = await request(fake.balanceUrl, { headers: { authorization: `Bearer ${KEYS[0]}` } });
    expect(JSON.parse(balance.body).data).to.deep.equal({ total_balance: 5, available_balance: 0, frozen_amount: 0 });
    fake.newDay();
    expect(fake.pointsLeft(KEYS[0])).to.equal(5);
    expect((await ask(fake, KEYS[0])).status).to.equal(200);
  });

  it('can refuse used-up points with a plain 429 instead, and answers balances it was given', async () => {
    fake = await startFakeModelScope();
    fake.points(KEYS[0], { daily: 1, whenEmpty: 'plain-429' }).balance(KEYS[1], { total: 10, available: 7 });
    await ask(fake, KEYS[0]);
    const refused = await ask(fake, KEYS[0]);
    expect(refused.status).to.equal(429);
    expect(refused.headers['modelscope-ratelimit-requests-remaining']).to.equal(undefined);
    const given = await request(fake.balanceUrl, { headers: { authorization: `Bearer ${KEYS[1]}` } });
    expect(JSON.parse(given.body).data).to.include({ available_balance: 7, total_balance: 10 });
    const none = await request(fake.balanceUrl, { headers: { authorization: `Bearer ${KEYS[2]}` } });
    expect(none.status).to.equal(404);
    fake.behave(KEYS[2], 'balance-exhausted');
    expect((await ask(fake, KEYS[2])).status).to.equal(403);
  });
});
