import { expect } from 'chai';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, request } from '../helpers.js';

const [BIG, SMALL] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];
const ask = (fake: FakeModelScope, key: string, model: string) =>
  request(`${fake.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
const counters = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('modelscope-ratelimit')));

describe('the imitation keeps per-model counters, settable per key and model', () => {
  let fake: FakeModelScope;
  afterEach(async () => fake?.close());

  it('counts one model of one key down, then answers 429 with its counter at 0; the rest keep working', async () => {
    fake = await startFakeModelScope();
    fake.modelQuota(KEYS[0], BIG, { limit: 500, remaining: 1 });
    const last = await ask(fake, KEYS[0], BIG);
    expect(last.status).to.equal(200);
    expect(counters(last.headers)).to.deep.equal({
      'modelscope-ratelimit-model-requests-limit': '500',
      'modelscope-ratelimit-model-requests-remaining': '0',
    });
    const refused = await ask(fake, KEYS[0], BIG);
    expect(refused.status).to.equal(429);
    expect(refused.headers['modelscope-ratelimit-model-requests-remaining']).to.equal('0');
    expect(fake.modelQuotaLeft(KEYS[0], BIG)).to.equal(0);
    expect((await ask(fake, KEYS[0], SMALL)).status, 'another model on the same key').to.equal(200);
    expect((await ask(fake, KEYS[1], BIG)).status, 'the same model on another key').to.equal(200);
    expect(fake.modelQuotaLeft(KEYS[1], BIG)).to.equal(undefined);
  });

  it('keeps the account figures beside the model ones, and refills both on a new day', async () => {
    fake = await startFakeModelScope();
    fake.quota(KEYS[0], { limit: 2000, remaining: 1500 }).modelQuota(KEYS[0], BIG, { limit: 2 });
    const answer = await ask(fake, KEYS[0], BIG);
    expect(counters(answer.headers)).to.deep.equal({
      'modelscope-ratelimit-requests-limit': '2000',
      'modelscope-ratelimit-requests-remaining': '1499',
      'modelscope-ratelimit-model-requests-limit': '2',
      'modelscope-ratelimit-model-requests-remaining': '1',
    });
    await ask(fake, KEYS[0], BIG);
    expect((await ask(fake, KEYS[0], BIG)).status).to.equal(429);
    expect(fake.quotaLeft(KEYS[0])).to.equal(1498);
    fake.newDay();
    expect([fake.quotaLeft(KEYS[0]), fake.modelQuotaLeft(KEYS[0], BIG)]).to.deep.equal([2000, 2]);
    expect((await ask(fake, KEYS[0], BIG)).status).to.equal(200);
  });

  it('sends no counters with counters: false, and still enforces the model counter with a plain 429', async () => {
    fake = await startFakeModelScope({ counters: false });
    fake.modelQuota(KEYS[0], BIG, { limit: 1 });
    expect(counters((await ask(fake, KEYS[0], BIG)).headers)).to.deep.equal({});
    const refused = await ask(fake, KEYS[0], BIG);
    expect(refused.status).to.equal(429);
    expect(counters(refused.headers)).to.deep.equal({});
  });

  it('lists the models it was given on GET /v1/models', async () => {
    fake = await startFakeModelScope({ models: [BIG, SMALL] });
    const list = await request(`${fake.url}/v1/models`, { headers: { authorization: `Bearer ${KEYS[0]}` } });
    expect(JSON.parse(list.body).data.map((model: { id: string }) => model.id)).to.deep.equal([BIG, SMALL]);
  });
});
