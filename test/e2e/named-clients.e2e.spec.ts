import { expect } from 'chai';
import request from 'supertest';
import type { RequestEndEvent } from '../../lib/index.js';
import { KEYS, captureLogger, chat, request as raw, startRig, type Rig, waitFor } from '../helpers.js';

const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const OTHER = 'Qwen/Qwen2.5-7B-Instruct';
const RESEARCH = 'research-token-0123456789abcdef';
const CI = 'ci-token-0123456789abcdef';
const ACCESS = 'access-token-0123456789abcdef';
const ask = (model = MODEL, more: object = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...more });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function served(rig: Rig, token: string, body: object = ask()) {
  return chat(rig.url, body, bearer(token));
}

describe('named clients: limits before any upstream call', function () {
  this.timeout(15_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('maxInFlight: the request past it gets 429 client_in_flight_limit at once, not sent upstream', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: RESEARCH, maxInFlight: 1 }] });
    for (const key of KEYS) rig.fake.behave(key, 'hang');
    void served(rig, RESEARCH).catch(() => {});
    await waitFor(() => rig.fake.count() === 1);
    const refused = await served(rig, RESEARCH);
    expect(refused.status).to.equal(429);
    expect(JSON.parse(refused.body).error.code).to.equal('client_in_flight_limit');
    expect(refused.headers['retry-after']).to.equal('1');
    expect(rig.fake.count()).to.equal(1);
  });

  it('requestsPerMinute: 429 client_rate_limited with Retry-After until a slot frees', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: RESEARCH, requestsPerMinute: 2 }] });
    expect((await served(rig, RESEARCH)).status).to.equal(200);
    expect((await served(rig, RESEARCH)).status).to.equal(200);
    const refused = await served(rig, RESEARCH);
    expect(refused.status).to.equal(429);
    expect(JSON.parse(refused.body).error.code).to.equal('client_rate_limited');
    expect(Number(refused.headers['retry-after'])).to.be.within(29, 30);
    expect(rig.fake.count()).to.equal(2);
  });

  it('dailyRequests: 429 client_daily_limit until the reset, x-should-retry false, no pool key touched', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: RESEARCH, dailyRequests: 2 }] });
    for (let i = 0; i < 2; i++) expect((await served(rig, RESEARCH)).status).to.equal(200);
    const before = JSON.stringify(rig.balancer.stats());
    const refused = await served(rig, RESEARCH);
    expect(refused.status).to.equal(429);
    const { error } = JSON.parse(refused.body);
    expect(error.code).to.equal('client_daily_limit');
    expect(refused.headers['x-should-retry']).to.equal('false');
    const usage = await rig.balancer.usage('research');
    const untilReset = Math.ceil((Date.parse(usage.resets_at) - Date.now()) / 1000);
    expect(Number(refused.headers['retry-after'])).to.be.within(untilReset - 2, untilReset + 1);
    expect(rig.fake.count()).to.equal(2);
    expect(JSON.stringify(rig.balancer.stats())).to.equal(before);
    expect(usage).to.include({ requests: 2, remaining: 0 });
  });

  it('models: 403 model_not_allowed on JSON, streamed and async-task bodies; allowed ones pass', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: RESEARCH, models: [MODEL, 'Qwen/Qwen-Image'] }] });
    const json = await served(rig, RESEARCH, ask(OTHER));
    expect([json.status, JSON.parse(json.body).error.code]).to.deep.equal([403, 'model_not_allowed']);
    const stream = await served(rig, RESEARCH, ask(OTHER, { stream: true, stream_options: { include_usage: true } }));
    expect([stream.status, JSON.parse(stream.body).error.code]).to.deep.equal([403, 'model_not_allowed']);
    const task = await raw(`${rig.url}/v1/images/generations`, {
      method: 'POST',
      headers: { ...bearer(RESEARCH), 'content-type': 'application/json', 'x-modelscope-async-mode': 'true' },
      body: JSON.stringify({ model: 'black-forest-labs/FLUX.1-Krea-dev', prompt: 'a cat' }),
    });
    expect([task.status, JSON.parse(task.body).error.code]).to.deep.equal([403, 'model_not_allowed']);
    expect(rig.fake.count()).to.equal(0);
    expect((await served(rig, RESEARCH)).status).to.equal(200);
    expect((await served(rig, RESEARCH, ask(MODEL, { stream: true }))).status).to.equal(200);
    const poll = await raw(`${rig.url}/v1/tasks/some-task`, { headers: bearer(RESEARCH) });
    expect(poll.status).not.to.equal(403);
  });

  it('an unknown token stays 401 invalid_access_token; access tokens pass as "anonymous", without limits', async () => {
    rig = await startRig({
      accessTokens: [ACCESS],
      clients: [{ name: 'research', token: RESEARCH, dailyRequests: 1 }],
    });
    const wrong: Array<Record<string, string>> = [{}, bearer('nope-0123456789abcdef'), { 'x-api-key': 'nope' }];
    for (const headers of wrong) {
      const refused = await chat(rig.url, ask(), headers);
      expect([refused.status, JSON.parse(refused.body).error.code]).to.deep.equal([401, 'invalid_access_token']);
    }
    expect((await chat(rig.url, ask(), { 'x-api-key': RESEARCH })).status).to.equal(200);
    for (let i = 0; i < 3; i++) expect((await served(rig, ACCESS)).status).to.equal(200);
    expect((await rig.balancer.usage('anonymous')).requests).to.equal(3);
  });
});

describe('named clients: usage', function () {
  this.timeout(15_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('counts tokens from JSON answers and from streamed include_usage chunks, per model', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: RESEARCH }] });
    const ends: RequestEndEvent[] = [];
    rig.balancer.on('request', (event) => {
      if (event.phase === 'end') ends.push(event);
    });
    const json = JSON.parse((await served(rig, RESEARCH)).body);
    const stream = await served(rig, RESEARCH, ask(OTHER, { stream: true, stream_options: { include_usage: true } }));
    const streamed = JSON.parse(
      stream.body
        .split('\n')
        .filter((line) => line.startsWith('data: {') && line.includes('"prompt_tokens"'))[0]
        .slice(6),
    ).usage;
    await served(rig, RESEARCH, ask(OTHER, { stream: true }));
    await waitFor(() => ends.length === 3);
    const usage = await rig.balancer.usage('research');
    expect(usage).to.deep.include({
      client: 'research',
      requests: 3,
      upstream_calls: 3,
      prompt_tokens: json.usage.prompt_tokens + streamed.prompt_tokens,
      completion_tokens: json.usage.completion_tokens + streamed.completion_tokens,
      remaining: null,
    });
    expect(usage.by_model[MODEL]).to.deep.equal({
      requests: 1,
      prompt_tokens: json.usage.prompt_tokens,
      completion_tokens: json.usage.completion_tokens,
    });
    expect(usage.by_model[OTHER].requests).to.equal(2);
    expect(ends.map((e) => e.client)).to.deep.equal(['research', 'research', 'research']);
    expect(ends[0].usage).to.deep.include({
      promptTokens: json.usage.prompt_tokens,
      completionTokens: json.usage.completion_tokens,
    });
    const metrics = await rig.balancer.registry.metrics();
    expect(metrics).to.include('modelscope_balance_client_requests_total{client="research",outcome="served"} 3');
    expect(metrics).to.include(
      `modelscope_balance_client_tokens_total{client="research",direction="prompt"} ${usage.prompt_tokens}`,
    );
  });

  it("logs each request with the client's name, never its token", async () => {
    const logger = captureLogger();
    rig = await startRig({ logger, clients: [{ name: 'research', token: RESEARCH, maxInFlight: 1 }] });
    await served(rig, RESEARCH);
    await chat(rig.url, ask(), bearer('nope-0123456789abcdef'));
    await waitFor(() => logger.lines.some((line) => (line.obj as { client?: string }).client === 'research'));
    expect(logger.text()).not.to.include(RESEARCH.slice(0, 12)).and.not.include('nope-0123456');
  });

  it("GET /usage answers a client's own figures, never another's; 401 without a client token", async () => {
    rig = await startRig({
      accessTokens: [ACCESS],
      clients: [
        { name: 'research', token: RESEARCH, dailyRequests: 10 },
        { name: 'ci', token: CI },
      ],
    });
    await served(rig, RESEARCH);
    await served(rig, RESEARCH);
    await served(rig, CI);
    const own = await request(rig.url).get('/usage').set(bearer(RESEARCH)).expect(200);
    expect(own.body).to.include({ client: 'research', requests: 2, remaining: 8 });
    expect(own.body.resets_at).to.match(/^\d{4}-\d\d-\d\dT/);
    const ci = await request(rig.url).get('/usage').set('x-api-key', CI).expect(200);
    expect(ci.body).to.include({ client: 'ci', requests: 1, remaining: null });
    for (const headers of [{}, bearer(ACCESS), bearer('nope-0123456789abcdef')]) {
      const refused = await request(rig.url).get('/usage').set(headers).expect(401);
      expect(refused.body.error.code).to.equal('invalid_access_token');
    }
    expect(JSON.stringify(own.body) + JSON.stringify(ci.body)).not.to.include(RESEARCH.slice(0, 12));
  });
});
