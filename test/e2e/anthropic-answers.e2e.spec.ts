// Issue 26: every answer the balancer writes itself on an Anthropic path is in Anthropic's shape, with the status,
// Retry-After and x-should-retry it has on OpenAI paths; a stream that breaks ends with Anthropic's error event. Raw
// HTTP for the shapes, the real SDK for what a client makes of them.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { KEYS, chat, request, startRig, type RawResponse, type Rig, waitFor } from '../helpers.js';
import type { BalanceOptions } from '../../lib/index.js';

const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const ASK = { model: MODEL, max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };
const ANTHROPIC = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };

function inFlight(rig: Rig): number {
  return Object.values(rig.balancer.stats()).reduce((sum, key) => sum + key.in_flight, 0);
}

function messages(rig: Rig, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return request(`${rig.url}/v1/messages`, {
    method: init.method ?? 'POST',
    headers: init.headers ?? { 'content-type': 'application/json' },
    body: init.body ?? JSON.stringify(ASK),
  });
}

interface Case {
  title: string;
  status: number;
  code: string;
  type: string;
  /** Retry-After: present (any value) or absent. */
  retryAfter: boolean;
  /** x-should-retry's value, or null when absent. */
  shouldRetry: string | null;
  options?: Partial<BalanceOptions>;
  /** Brings the rig to the state the case needs; then `ask` makes the request answered. */
  setup?: (rig: Rig) => Promise<void> | void;
  ask?: (rig: Rig) => Promise<RawResponse>;
}

const CASES: Case[] = [
  {
    title: 'a wrong access token',
    ...{ status: 401, code: 'invalid_access_token', type: 'authentication_error' },
    ...{ retryAfter: false, shouldRetry: null },
    options: { accessTokens: ['right-access-token-0123'] },
    ask: (rig) => messages(rig, { headers: { 'x-api-key': 'wrong-access-token-0123' } }),
  },
  {
    title: 'an origin not allowed',
    ...{ status: 403, code: 'origin_not_allowed', type: 'permission_error', retryAfter: false, shouldRetry: null },
    options: { cors: { origins: ['https://app.example'] } },
    ask: (rig) => messages(rig, { headers: { origin: 'https://evil.example', 'content-type': 'text/plain' } }),
  },
  {
    title: 'a method ModelScope does not serve',
    ...{ status: 405, code: 'method_not_allowed', type: 'invalid_request_error' },
    ...{ retryAfter: false, shouldRetry: null },
    ask: (rig) => messages(rig, { method: 'DELETE', body: '' }),
  },
  {
    title: 'OPTIONS that is not a preflight (anthropic-version on another path)',
    ...{ status: 405, code: 'method_not_allowed', type: 'invalid_request_error' },
    ...{ retryAfter: false, shouldRetry: null },
    ask: (rig) => request(`${rig.url}/v1/models`, { method: 'OPTIONS', headers: ANTHROPIC }),
  },
  {
    title: "one of the balancer's own paths that serves nothing (anthropic-version sent)",
    ...{ status: 404, code: 'not_found', type: 'not_found_error', retryAfter: false, shouldRetry: null },
    ask: (rig) => request(`${rig.url}/stats/nothing`, { headers: ANTHROPIC }),
  },
  {
    title: 'a body over maxBodyBytes',
    ...{ status: 413, code: 'request_too_large', type: 'request_too_large', retryAfter: false, shouldRetry: null },
    options: { maxBodyBytes: 1024 },
    ask: (rig) => messages(rig, { body: JSON.stringify({ ...ASK, system: 'x'.repeat(2048) }) }),
  },
  {
    title: 'every key cooling',
    ...{ status: 429, code: 'all_keys_cooling', type: 'rate_limit_error', retryAfter: true, shouldRetry: null },
    setup: async (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
      await messages(rig);
    },
  },
  {
    title: 'the pool exhausted',
    ...{ status: 429, code: 'daily_quota_exhausted', type: 'rate_limit_error' },
    ...{ retryAfter: true, shouldRetry: 'false' },
    setup: async (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'quota-exhausted');
      await messages(rig);
    },
  },
  {
    title: 'a reset after the request went out (not resent: nginx non_idempotent)',
    ...{ status: 502, code: 'upstream_unreachable', type: 'api_error', retryAfter: false, shouldRetry: 'false' },
    setup: (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'reset');
    },
  },
  {
    title: 'the balancer closed',
    ...{ status: 503, code: 'balancer_closed', type: 'overloaded_error', retryAfter: false, shouldRetry: null },
    setup: (rig) => rig.balancer.close(),
  },
  {
    title: 'every key removed',
    ...{ status: 503, code: 'no_keys', type: 'overloaded_error', retryAfter: false, shouldRetry: 'false' },
    setup: (rig) => {
      for (const label of Object.keys(rig.balancer.stats())) rig.balancer.removeKey(label);
    },
  },
  {
    title: 'every key unhealthy',
    ...{ status: 503, code: 'no_key_available', type: 'overloaded_error', retryAfter: false, shouldRetry: null },
    options: { failureThreshold: 1 },
    setup: async (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'server-error');
      await messages(rig);
    },
  },
  {
    title: 'every pool key refused by ModelScope',
    ...{ status: 503, code: 'pool_keys_refused', type: 'overloaded_error', retryAfter: false, shouldRetry: 'false' },
    setup: (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'unauthorized');
    },
  },
  {
    title: 'too many request bytes held at once',
    ...{ status: 503, code: 'server_busy', type: 'overloaded_error', retryAfter: true, shouldRetry: null },
    options: { maxBufferedBytes: 1_000, maxBodyBytes: 900 },
    setup: async (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'hang');
      void messages(rig, { body: JSON.stringify({ ...ASK, system: 'x'.repeat(600) }) }).catch(() => undefined);
      await waitFor(() => inFlight(rig) === 1);
    },
    ask: (rig) => messages(rig, { body: JSON.stringify({ ...ASK, system: 'y'.repeat(600) }) }),
  },
  {
    title: 'no answer in time',
    ...{ status: 504, code: 'upstream_timeout', type: 'timeout_error', retryAfter: false, shouldRetry: 'false' },
    options: { timeouts: { firstByteMs: 100 } },
    setup: (rig) => {
      for (const key of KEYS) rig.fake.behave(key, 'hang');
    },
  },
];

describe("the balancer's own answers on Anthropic paths (issue 26)", function () {
  this.timeout(15_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  for (const c of CASES) {
    it(`${c.status} ${c.code}: ${c.title}, in Anthropic's shape with the OpenAI path's hints`, async () => {
      rig = await startRig({ queueTimeoutMs: 0, ...c.options });
      await c.setup?.(rig);
      const res = await (c.ask ?? messages)(rig);
      expect([res.status, res.headers['content-type']]).to.deep.equal([c.status, 'application/json; charset=utf-8']);
      const body = JSON.parse(res.body);
      expect(body).to.have.all.keys('type', 'error');
      expect(body.type).to.equal('error');
      expect(body.error).to.have.all.keys('type', 'message', 'code');
      expect(body.error).to.include({ type: c.type, code: c.code });
      expect(body.error.message).to.be.a('string').and.not.equal('');
      expect(res.headers['retry-after'] !== undefined, 'retry-after').to.equal(c.retryAfter);
      expect(res.headers['x-should-retry'] ?? null, 'x-should-retry').to.equal(c.shouldRetry);
    });
  }

  it('keeps OpenAI paths OpenAI-shaped, with the same status and hints', async () => {
    rig = await startRig({ accessTokens: ['right-access-token-0123'] });
    const openAi = await chat(rig.url, undefined, { authorization: 'Bearer wrong' });
    expect(openAi.status).to.equal(401);
    expect(JSON.parse(openAi.body)).to.deep.nested.include({
      'error.type': 'authentication_error',
      'error.code': 'invalid_access_token',
    });
    expect(JSON.parse(openAi.body)).not.to.have.property('type');
  });

  it('ends a stream that breaks midway with an error event: the SDK throws APIError with error.type', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'stream-break');
    const stream = new Anthropic({ baseURL: rig.url, authToken: 'any', maxRetries: 0 }).messages.stream(ASK);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    let error: unknown;
    await stream.finalMessage().catch((caught) => (error = caught));
    expect(deltas).to.deep.equal(['chunk 0 ', 'chunk 1 ']);
    expect(error).to.be.instanceOf(Anthropic.APIError);
    const err = error as InstanceType<typeof Anthropic.APIError>;
    expect(err.type).to.equal('api_error');
    expect(err.error).to.deep.nested.include({ type: 'error', 'error.code': 'stream_interrupted' });
    expect(err.apiMessage).to.match(/interrupted/);
    await waitFor(() => inFlight(rig) === 0);
  });

  it('lets the SDK read each answer by class and type: 413, 504 (no resend) and 503', async () => {
    rig = await startRig({ maxBodyBytes: 1024, timeouts: { firstByteMs: 100 } });
    const sdk = new Anthropic({ baseURL: rig.url, authToken: 'any', maxRetries: 2 });
    const failure = async (call: Promise<unknown>) => {
      const caught = await call.catch((error: unknown) => error);
      expect(caught).to.be.instanceOf(Anthropic.APIError);
      return caught as InstanceType<typeof Anthropic.APIError>;
    };
    const tooLarge = await failure(sdk.messages.create({ ...ASK, system: 'x'.repeat(2048) }));
    expect(tooLarge).to.be.instanceOf(Anthropic.ContentTooLargeError);
    expect(tooLarge.type).to.equal('request_too_large');
    for (const key of KEYS) rig.fake.behave(key, 'hang');
    const timedOut = await failure(sdk.messages.create(ASK));
    expect(timedOut).to.be.instanceOf(Anthropic.GatewayTimeoutError);
    expect(timedOut.type).to.equal('timeout_error');
    // x-should-retry: false: the model may be generating already, a resend would spend the quota twice.
    expect(rig.fake.count(undefined, '/v1/messages')).to.equal(1);
    for (const key of KEYS) rig.fake.behave(key, 'unauthorized');
    const refused = await failure(sdk.messages.create(ASK));
    expect(refused).to.be.instanceOf(Anthropic.ServiceUnavailableError);
    expect(refused.type).to.equal('overloaded_error');
    expect(refused.apiMessage).to.include('your own credentials are not the problem');
  });
});
