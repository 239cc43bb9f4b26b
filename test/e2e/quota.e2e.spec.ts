import { expect } from 'chai';
import request from 'supertest';
import { KEYS, captureLogger, chat, manualClock, startRig, type Rig } from '../helpers.js';

const MODEL_A = 'Qwen/Qwen2.5-72B-Instruct';
const MODEL_B = 'deepseek-ai/DeepSeek-V3.1';
const ask = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('quota-aware scheduling and ModelScope specifics', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const stat = (i: number) => Object.values(rig.balancer.stats())[i];

  it('records the four quota headers per key and per model, in /stats and as a gauge', async () => {
    const clock = manualClock();
    rig = await startRig({ now: clock.now });
    rig.fake.quota(KEYS[0], { limit: 2000, remaining: 1500, models: { [MODEL_A]: { limit: 500, remaining: 120 } } });
    await chat(rig.url, ask(MODEL_A));
    const quota = stat(0).quota as unknown as Record<string, unknown>;
    expect(quota).to.deep.include({
      remaining: 1499,
      limit: 2000,
      seen_at: new Date(clock.now()).toISOString(),
      stale: false,
    });
    expect(quota.models).to.deep.equal({
      [MODEL_A]: { remaining: 119, limit: 500, seen_at: new Date(clock.now()).toISOString(), stale: false },
    });
    const metrics = (await request(rig.app).get('/ms/metrics')).text;
    expect(metrics).to.include(
      `modelscope_balance_key_quota_remaining{key="${Object.keys(rig.balancer.stats())[0]}"} 1499`,
    );
    expect(metrics).not.to.include(MODEL_A);
  });

  it('stops using a key whose remaining reaches 0, before it can get a 429', async () => {
    const logger = captureLogger();
    rig = await startRig({ logger });
    rig.fake.quota(KEYS[0], { limit: 10, remaining: 2 });
    for (let i = 0; i < 12; i++) expect((await chat(rig.url)).status).to.equal(200);
    expect(rig.fake.count(KEYS[0])).to.equal(2);
    expect(stat(0).state).to.equal('exhausted');
    expect(logger.lines.filter((l) => /used up its daily quota/.test(l.msg ?? ''))).to.have.length(1);
  });

  it('takes a 429 whose headers say 0 remaining as exhaustion, not a cooldown, and fails over', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'quota-exhausted');
    expect((await chat(rig.url)).status).to.equal(200);
    expect(stat(0).state).to.equal('exhausted');
    expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
  });

  it("skips a key for one model only when that model's remaining is 0", async () => {
    rig = await startRig();
    rig.fake.quota(KEYS[0], { limit: 100, remaining: 100, models: { [MODEL_A]: { limit: 1, remaining: 1 } } });
    await chat(rig.url, ask(MODEL_A));
    for (let i = 0; i < 6; i++) await chat(rig.url, ask(MODEL_A));
    const modelA = rig.fake.received.filter((r) => r.key === KEYS[0] && r.body.includes(MODEL_A)).length;
    expect(modelA).to.equal(1);
    for (let i = 0; i < 6; i++) await chat(rig.url, ask(MODEL_B));
    expect(rig.fake.received.filter((r) => r.key === KEYS[0] && r.body.includes(MODEL_B)).length).to.equal(2);
    expect(stat(0).state).to.equal('healthy');
  });

  it('brings an exhausted key back at midnight in the configured time zone', async () => {
    const clock = manualClock(Date.parse('2026-03-01T10:00:00Z'));
    rig = await startRig({ now: clock.now, quota: { resetTimeZone: 'Asia/Shanghai' } });
    rig.fake.behave(KEYS[0], 'quota-exhausted');
    await chat(rig.url);
    expect(stat(0).cooldown_until).to.equal('2026-03-01T16:00:00.000Z');
    rig.fake.behave(KEYS[0], 'ok');
    clock.set(Date.parse('2026-03-01T15:59:59Z'));
    expect(stat(0).state).to.equal('exhausted');
    clock.set(Date.parse('2026-03-01T16:00:00Z'));
    expect(stat(0).state).to.equal('healthy');
    for (let i = 0; i < 3; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.equal(2);
  });

  it('answers 429 with Retry-After until the reset when every key is out of quota', async () => {
    const clock = manualClock(Date.parse('2026-03-01T15:00:00Z'));
    rig = await startRig({ now: clock.now });
    for (const key of KEYS) rig.fake.behave(key, 'quota-exhausted');
    await chat(rig.url);
    const res = await chat(rig.url);
    expect(res.status).to.equal(429);
    expect(res.headers['retry-after']).to.equal('3600');
    const error = JSON.parse(res.body).error;
    expect(error.code).to.equal('daily_quota_exhausted');
    expect(error.message).to.match(/daily quota/);
  });

  it('shares quota figures between keys of one account', async () => {
    rig = await startRig({ keys: [{ key: KEYS[0], account: 'alice' }, { key: KEYS[1], account: 'alice' }, KEYS[2]] });
    rig.fake.behave(KEYS[0], 'quota-exhausted');
    await chat(rig.url);
    expect([stat(0).state, stat(1).state, stat(2).state]).to.deep.equal(['exhausted', 'exhausted', 'healthy']);
    for (let i = 0; i < 3; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[1])).to.equal(0);
  });

  it('weighted strategy splits traffic by weight through the whole stack', async () => {
    rig = await startRig({
      strategy: 'weighted',
      keys: [
        { key: KEYS[0], weight: 1 },
        { key: KEYS[1], weight: 2 },
        { key: KEYS[2], weight: 3 },
      ],
    });
    for (let i = 0; i < 60; i++) await chat(rig.url);
    expect(KEYS.map((k) => rig.fake.count(k))).to.deep.equal([10, 20, 30]);
  });

  it('most-remaining strategy prefers the key with the most quota left', async () => {
    rig = await startRig({ strategy: 'most-remaining' });
    rig.fake
      .quota(KEYS[0], { limit: 100, remaining: 10 })
      .quota(KEYS[1], { limit: 100, remaining: 90 })
      .quota(KEYS[2], { limit: 100, remaining: 50 });
    for (let i = 0; i < 3; i++) await chat(rig.url);
    rig.fake.received.length = 0;
    for (let i = 0; i < 10; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[1])).to.equal(10);
  });

  it('polls an async task through the key that submitted it, whatever round robin would pick', async () => {
    rig = await startRig();
    const submit = await request(rig.app)
      .post('/ms/v1/images/generations')
      .set('X-ModelScope-Async-Mode', 'true')
      .send({ model: 'Qwen/Qwen-Image', prompt: 'a cat' })
      .expect(200);
    const taskId = submit.body.task_id as string;
    expect(taskId).to.be.a('string');
    for (let i = 0; i < 4; i++) {
      await request(rig.app)
        .get(`/ms/v1/tasks/${taskId}`)
        .set('X-ModelScope-Task-Type', 'image_generation')
        .expect(200);
    }
    const polls = rig.fake.received.filter((r) => r.url.startsWith('/v1/tasks/'));
    expect(polls.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[0], KEYS[0], KEYS[0]]);
    await request(rig.app).get('/ms/v1/tasks/unknown-task').expect(404);
    expect(rig.fake.received.at(-1)?.key).to.not.equal(undefined);
  });

  it("uses a key's own label in stats, logs and metrics", async () => {
    const logger = captureLogger();
    rig = await startRig({ logger, keys: [{ key: KEYS[0], label: 'team-a' }, KEYS[1]] });
    await chat(rig.url);
    expect(Object.keys(rig.balancer.stats())).to.include('team-a');
    expect(logger.lines.some((l) => (l.obj as { key?: string }).key === 'team-a')).to.equal(true);
    expect((await request(rig.app).get('/ms/metrics')).text).to.include('key="team-a"');
  });
});
