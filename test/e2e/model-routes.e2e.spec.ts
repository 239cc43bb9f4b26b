import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { modelscopeBalance } from '../../lib/index.js';
import supertest from 'supertest';
import type { RequestEndEvent } from '../../lib/engine/events.js';
import {
  KEYS,
  assertNoKeyIn,
  captureLogger,
  chat,
  manualClock,
  request,
  startRig,
  waitFor,
  type Rig,
} from '../helpers.js';

const [A, B, C] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct', 'moonshotai/Kimi-K2'];
const ROUTES = { coder: [A, B] };
/** 2026-03-01 10:00 in Beijing: the allowance comes back at 16:00 UTC. */
const MORNING = Date.parse('2026-03-01T02:00:00Z');
const RESET = Date.parse('2026-03-01T16:00:00Z');
const ask = (model: string, extra: object = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
/** Requests the imitation got naming `model`, by key. */
const callsOf = (rig: Rig, model: string) =>
  rig.fake.received.filter((r) => r.body.includes(JSON.stringify(model))).map((r) => KEYS.indexOf(r.key as string));

describe('model routes: when a model runs out on every key, the next', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('sends an alias to its first model, the body otherwise byte for byte as sent, and says which model', async () => {
    rig = await startRig({ modelRoutes: ROUTES });
    const sent =
      '{ "messages": [{"role":"user","content":"caf\\u00e9 \\"x\\""}],\n  "seed": 12345678901234567890, ' +
      '"model" :"coder", "n": 1.50, "tools": [{"model": "coder"}] }';
    const res = await request(`${rig.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sent,
    });
    expect(res.status).to.equal(200);
    expect(res.headers['x-modelscope-balance-model']).to.equal(A);
    expect(rig.fake.received[0].body.toString()).to.equal(sent.replace('"coder"', JSON.stringify(A)));
    const other = await chat(rig.url, ask(C));
    expect(other.headers['x-modelscope-balance-model'], 'no route, no header').to.equal(undefined);
    expect(rig.fake.received[1].body.toString()).to.equal(JSON.stringify(ask(C)));
  });

  it('moves on within the same request once the first model is used up on every key, one call per key', async () => {
    const logger = captureLogger();
    rig = await startRig({ modelRoutes: ROUTES, logger });
    for (const key of KEYS) rig.fake.modelQuota(key, A, { limit: 500, remaining: 0 });
    const events: RequestEndEvent[] = [];
    rig.balancer.on('request', (event) => {
      if (event.phase === 'end') events.push(event);
    });
    const attempts: Array<{ attempt: number; model?: string; verdict: string }> = [];
    rig.balancer.on('attempt', ({ attempt, model, verdict }) => attempts.push({ attempt, model, verdict }));
    const res = await chat(rig.url, ask('coder'));
    expect(res.status).to.equal(200);
    expect(res.headers['x-modelscope-balance-model']).to.equal(B);
    expect(JSON.parse(res.body).model).to.equal(B);
    expect(callsOf(rig, A).sort()).to.deep.equal([0, 1, 2]);
    expect(callsOf(rig, B)).to.have.length(1);
    // Known now: the next request spends no call on the first model.
    const next = await chat(rig.url, ask('coder'));
    expect(next.headers['x-modelscope-balance-model']).to.equal(B);
    expect(callsOf(rig, A)).to.have.length(3);
    await waitFor(() => events.length === 2);
    expect(events[0]).to.include({ model: B, route: 'coder', status: 200 });
    expect(attempts.slice(0, 4)).to.deep.equal([
      { attempt: 1, model: A, verdict: 'model_exhausted' },
      { attempt: 2, model: A, verdict: 'model_exhausted' },
      { attempt: 3, model: A, verdict: 'model_exhausted' },
      { attempt: 4, model: B, verdict: 'success' },
    ]);
    const line = logger.lines.find((l) => l.msg === 'proxied');
    expect(line?.obj).to.include({ model: B, route: 'coder' });
    const metrics = (await supertest(rig.app).get('/ms/metrics')).text;
    expect(metrics).to.include(`modelscope_balance_model_fallbacks_total{route="coder",from="${A}",to="${B}"} 2`);
  });

  it('lets a browser client read the header (CORS)', async () => {
    rig = await startRig({ modelRoutes: ROUTES, cors: { origins: ['https://app.example'] } });
    const res = await chat(rig.url, ask('coder'), { origin: 'https://app.example' });
    expect(res.headers['access-control-expose-headers']).to.include('x-modelscope-balance-model');
  });

  it('moves on even when retry.on leaves 429 out: a 429 generated nothing', async () => {
    rig = await startRig({ modelRoutes: ROUTES, retry: { on: [500] } });
    for (const key of KEYS) rig.fake.modelQuota(key, A, { limit: 500, remaining: 0 });
    const res = await chat(rig.url, ask('coder'));
    expect([res.status, res.headers['x-modelscope-balance-model']]).to.deep.equal([200, B]);
  });

  it('streams follow the same route, the header with the stream', async () => {
    rig = await startRig({ modelRoutes: ROUTES });
    rig.fake.modelQuota(KEYS[0], A, { limit: 500, remaining: 0 }).modelQuota(KEYS[1], A, { limit: 500, remaining: 0 });
    rig.fake.modelQuota(KEYS[2], A, { limit: 500, remaining: 0 });
    const res = await chat(rig.url, ask('coder', { stream: true }));
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.include('text/event-stream');
    expect(res.headers['x-modelscope-balance-model']).to.equal(B);
    expect(res.body).to.include(`"model":"${B}"`).and.to.include('data: [DONE]');
    expect(callsOf(rig, A)).to.have.length(3);
  });

  it('brings the first model back at the reset (fake clock)', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ modelRoutes: ROUTES, now: clock.now });
    for (const key of KEYS) rig.fake.modelQuota(key, A, { limit: 500, remaining: 0 });
    expect((await chat(rig.url, ask('coder'))).headers['x-modelscope-balance-model']).to.equal(B);
    clock.set(RESET - 1000);
    expect((await chat(rig.url, ask('coder'))).headers['x-modelscope-balance-model']).to.equal(B);
    expect(callsOf(rig, A)).to.have.length(3);
    rig.fake.newDay();
    clock.set(RESET);
    expect((await chat(rig.url, ask('coder'))).headers['x-modelscope-balance-model']).to.equal(A);
  });

  it('answers 429 naming the route’s models, without an upstream call, once every one is used up', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ modelRoutes: ROUTES, now: clock.now });
    for (const key of KEYS)
      rig.fake.modelQuota(key, A, { limit: 1, remaining: 0 }).modelQuota(key, B, { limit: 1, remaining: 0 });
    const first = await chat(rig.url, ask('coder'));
    expect(first.status).to.equal(429);
    const calls = rig.fake.received.length;
    expect(calls, 'one call per key and model to find out').to.equal(6);
    const res = await chat(rig.url, ask('coder'));
    expect(rig.fake.received.length).to.equal(calls);
    expect(res.status).to.equal(429);
    expect(res.headers['retry-after']).to.equal(String((RESET - MORNING) / 1000));
    expect(res.headers['x-should-retry']).to.equal('false');
    const error = JSON.parse(res.body).error;
    expect(error.code).to.equal('daily_quota_exhausted');
    expect(error.message).to.include('route "coder"').and.include(A).and.include(B);
    expect((await chat(rig.url, ask(C))).status, 'another model on the same keys').to.equal(200);
  });

  it('answers 429 naming a model with no route used up everywhere, with no call; others keep working', async () => {
    rig = await startRig();
    for (const key of KEYS) rig.fake.modelQuota(key, C, { limit: 1 });
    for (let i = 0; i < 3; i++) expect((await chat(rig.url, ask(C))).status).to.equal(200);
    const calls = rig.fake.received.length;
    const res = await chat(rig.url, ask(C));
    expect(res.status).to.equal(429);
    const error = JSON.parse(res.body).error;
    expect(error.code).to.equal('daily_quota_exhausted');
    expect(error.message).to.include(`model "${C}"`).and.include('Other models still work');
    expect(rig.fake.received.length, 'no upstream call').to.equal(calls);
    expect((await chat(rig.url, ask(A))).status).to.equal(200);
  });

  it('never names a model back with a piece of a key in it', async () => {
    rig = await startRig();
    const sly = `x/${KEYS[1].slice(3)}`;
    for (const key of KEYS) rig.fake.modelQuota(key, sly, { limit: 0 });
    for (let i = 0; i < 3; i++) await chat(rig.url, ask(sly));
    const res = await chat(rig.url, ask(sly));
    expect(JSON.parse(res.body).error.code).to.equal('daily_quota_exhausted');
    assertNoKeyIn(res.body);
  });

  it('lists the route names on GET /v1/models, owned by modelscope-balance', async () => {
    rig = await startRig({ modelRoutes: { ...ROUTES, [A]: [A, B] } }, { fake: { models: [A, B] } });
    const res = await request(`${rig.url}/v1/models`);
    expect(res.status).to.equal(200);
    const list = JSON.parse(res.body);
    expect(list.data.map((m: { id: string }) => m.id)).to.deep.equal([A, B, 'coder']);
    expect(list.data[2]).to.deep.equal({ id: 'coder', object: 'model', created: 0, owned_by: 'modelscope-balance' });
    expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(res.body));
  });

  it('shows each model’s allowance across the pool and the routes on their fallback in /status', async () => {
    rig = await startRig({ modelRoutes: ROUTES });
    for (const key of KEYS) rig.fake.modelQuota(key, A, { limit: 500, remaining: 0 });
    await chat(rig.url, ask('coder'));
    const data = (await supertest(rig.app).get('/ms/status/data')).body;
    expect(data.view.routes).to.deep.equal([{ name: 'coder', models: [A, B], serving: B, on_fallback: true }]);
    expect(data.view.models.find((m: { model: string }) => m.model === A)).to.include({
      remaining: 0,
      limit: 1500,
      used_up_everywhere: true,
    });
    expect(data.html.summary).to.include('on fallback').and.include('Model routes');
    const page = (await supertest(rig.app).get('/ms/status')).text;
    expect(page).to.include('<code>coder</code>');
  });
});

describe('model routes: a models list that cannot be read', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });
  const listen = async (server: http.Server) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('answers 502 upstream_error, never a 200 carrying an error, when the list says gzip and is not', async () => {
    // An upstream whose list claims gzip but is plain JSON.
    const upstream = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end('{"object":"list","data":[]}');
      }),
    );
    const app = express();
    app.use(modelscopeBalance({ keys: KEYS, target: `${upstream}/v1`, healthCheck: false, modelRoutes: ROUTES }));
    const res = await request(`${await listen(http.createServer(app))}/v1/models`);
    expect(res.status).to.equal(502);
    expect(JSON.parse(res.body).error).to.include({ code: 'upstream_error' });
  });
});
