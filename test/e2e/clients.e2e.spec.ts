import compression from 'compression';
import { expect } from 'chai';
import OpenAI from 'openai';
import request from 'supertest';
import type express from 'express';
import { KEYS, chat, request as raw, startRig, type Rig, waitFor } from '../helpers.js';

function client(rig: Rig, maxRetries = 2): OpenAI {
  return new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: 'client-side-token', maxRetries, timeout: 10_000 });
}

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (error) {
    expect(error).to.be.instanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('expected the call to fail');
}

const ask = { model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('real clients: the official openai package and browsers', function () {
  this.timeout(20_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('answers plain and streamed calls; a stream ends with finish_reason "stop"', async () => {
    rig = await startRig();
    const answer = await client(rig).chat.completions.create(ask);
    expect(answer.choices[0].message.content).to.be.a('string');
    const stream = await client(rig).chat.completions.create({ ...ask, stream: true });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).to.include('chunk 0');
    expect(finish).to.equal('stop');
  });

  it("1. reports a rate limit the SDK can read: status, code, ModelScope's message and a request id", async () => {
    rig = await startRig();
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    const err = await failure(client(rig, 0).chat.completions.create(ask));
    expect(err.status).to.equal(429);
    expect(err.code).to.equal('rate_limited');
    expect(err.message).to.include('Request limit exceeded.');
    expect(err.requestID).to.be.a('string').and.not.equal('');
    expect(err.headers?.get('x-modelscope-balance-attempts')).to.equal('3');
  });

  it(
    '3. makes the SDK give up at once on exhausted quota instead of waiting hours (x-should-retry: ' + 'false)',
    async () => {
      rig = await startRig();
      for (const key of KEYS) rig.fake.behave(key, 'quota-exhausted');
      const started = performance.now();
      const err = await failure(client(rig, 2).chat.completions.create(ask));
      expect(err.status).to.equal(429);
      expect(err.code).to.equal('daily_quota_exhausted');
      expect(performance.now() - started).to.be.below(3_000);
      expect(rig.fake.count()).to.equal(3);
      // The next call is answered by the balancer itself, also final.
      const again = await failure(client(rig, 2).chat.completions.create(ask));
      expect(again.code).to.equal('daily_quota_exhausted');
      expect(again.headers?.get('x-should-retry')).to.equal('false');
      expect(rig.fake.count()).to.equal(3);
    },
  );

  it(
    "7. says the pool keys are refused (503 pool_keys_refused), never a 401 that reads as the user's " + 'key',
    async () => {
      rig = await startRig();
      for (const key of KEYS) rig.fake.behave(key, 'unauthorized');
      const err = await failure(client(rig, 2).chat.completions.create(ask));
      expect(err.status).to.equal(503);
      expect(err.code).to.equal('pool_keys_refused');
      expect(err.message).to.include('/stats');
      const again = await failure(client(rig, 2).chat.completions.create(ask));
      expect([again.status, again.code]).to.deep.equal([503, 'pool_keys_refused']);
      expect(rig.fake.count()).to.equal(3);
    },
  );

  it('5. turns a slow non-streamed answer into one 504 per SDK try, not a resend to every key', async () => {
    rig = await startRig({ timeouts: { firstByteMs: 200 } });
    for (const key of KEYS) rig.fake.behave(key, 'hang');
    const err = await failure(client(rig, 0).chat.completions.create(ask));
    expect(err.status).to.equal(504);
    expect(rig.fake.count()).to.equal(1);
    expect(Object.values(rig.balancer.stats()).every((s) => s.state === 'healthy')).to.equal(true);
  });

  it("8. passes the client's x-request-id upstream and back, and makes one when none was sent", async () => {
    rig = await startRig();
    const given = await chat(rig.url, undefined, { 'x-request-id': 'trace-123' });
    expect(given.headers['x-request-id']).to.equal('trace-123');
    expect(rig.fake.received[0].headers['x-request-id']).to.equal('trace-123');
    const made = await chat(rig.url);
    expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(rig.fake.received[1].headers['x-request-id']).to.equal(made.headers['x-request-id']);
  });

  it("8b. lets the host app's own logging read the request id and the answer's headers from the response", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const logResponse: express.RequestHandler = (_req, res, next) => {
      res.once('finish', () => seen.push({ ...res.getHeaders() }));
      next();
    };
    rig = await startRig({}, { before: [logResponse] });
    // As in a production app (and the example server): no x-powered-by, so nothing else set a header first.
    rig.app.disable('x-powered-by');
    const answer = await chat(rig.url, undefined, { 'x-request-id': 'trace-456' });
    await waitFor(() => seen.length === 1);
    expect(seen[0]['x-request-id']).to.equal('trace-456');
    expect(seen[0]['x-modelscope-balance-attempts']).to.equal('1');
    expect(seen[0]['content-type']).to.equal(answer.headers['content-type']);
  });

  describe('6. async task polls', () => {
    async function submitAndPoll(rigged: Rig, query: string): Promise<number> {
      const submitted = await raw(`${rigged.url}/v1/images/generations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-modelscope-async-mode': 'true' },
        body: '{"prompt":"a cat"}',
      });
      const { task_id: taskId } = JSON.parse(submitted.body);
      // Round robin would send the polls to the other keys: they must follow the submitting key.
      let ok = 0;
      for (let i = 0; i < 3; i++) if ((await raw(`${rigged.url}/v1/tasks/${taskId}${query}`)).status === 200) ok++;
      return ok;
    }

    it('reach the submitting key with a query string', async () => {
      rig = await startRig();
      expect(await submitAndPoll(rig, '?task_type=image_generation')).to.equal(3);
    });

    it('reach the submitting key through a target with a base path', async () => {
      rig = await startRig({}, { fake: { basePath: '/gw' }, targetPath: '/gw' });
      expect(await submitAndPoll(rig, '')).to.equal(3);
    });
  });

  describe('2. browsers (CORS)', () => {
    it('answers a preflight itself, without a token and without an upstream call', async () => {
      rig = await startRig({ accessTokens: ['client-token-aaaaaaaaaaaa'], cors: { origins: ['https://app.example'] } });
      const res = await request(rig.app)
        .options('/ms/v1/chat/completions')
        .set('origin', 'https://app.example')
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization, content-type');
      expect(res.status).to.equal(204);
      expect(res.headers['access-control-allow-origin']).to.equal('https://app.example');
      expect(res.headers['access-control-allow-methods']).to.include('POST');
      expect(res.headers['access-control-allow-headers']).to.include('authorization');
      expect(rig.fake.received).to.have.length(0);
    });

    it('puts the CORS headers on JSON and SSE answers, and none for an origin not allowed', async () => {
      rig = await startRig({ cors: { origins: ['https://app.example'] } });
      const json = await chat(rig.url, undefined, { origin: 'https://app.example' });
      expect(json.headers['access-control-allow-origin']).to.equal('https://app.example');
      expect(json.headers['access-control-expose-headers']).to.include('x-request-id');
      const sse = await chat(rig.url, { stream: true }, { origin: 'https://app.example' });
      expect(sse.headers['access-control-allow-origin']).to.equal('https://app.example');
      const other = await chat(rig.url, undefined, { origin: 'https://evil.example' });
      expect(other.headers).not.to.have.property('access-control-allow-origin');
    });

    it('refuses a cors option without usable origins at construction', async () => {
      const { modelscopeBalance } = await import('../../lib/index.js');
      expect(() => modelscopeBalance({ keys: KEYS, cors: { origins: ['app.example'] } })).to.throw(/cors.origins/);
    });

    it('without the cors option, a preflight is not forwarded either (405)', async () => {
      rig = await startRig();
      const res = await request(rig.app).options('/ms/v1/chat/completions').set('origin', 'https://app.example');
      expect(res.status).to.equal(405);
      expect(rig.fake.received).to.have.length(0);
    });
  });

  it('4. streams chunk by chunk behind the compression middleware', async () => {
    rig = await startRig({}, { fake: { streamChunks: 5, streamIntervalMs: 80 }, before: [compression()] });
    const res = await chat(rig.url, { stream: true }, { 'accept-encoding': 'gzip' });
    expect(res.headers['cache-control']).to.include('no-transform');
    expect(res.chunkTimes.length).to.be.at.least(5);
    expect(res.chunkTimes[res.chunkTimes.length - 1] - res.chunkTimes[0]).to.be.greaterThan(250);
  });
});
