// Issue 26: the real `@anthropic-ai/sdk` (and a request shaped as Claude Code sends it) through the balancer, in
// front of the imitation's Messages API: what works, what the SDK reads of the balancer's own answers, and that the
// client's credential never reaches ModelScope.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { KEYS, assertNoKeyIn, startRig, type Rig, waitFor } from '../helpers.js';

const ACCESS_TOKEN = 'team-access-token-0123456789';
const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const ASK = { model: MODEL, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Say hello.' }] };

type ApiError = InstanceType<typeof Anthropic.APIError>;

/** How an Anthropic client presents the access token: Claude Code's two variables, and the SDKs' options. */
const CREDENTIALS = {
  // ANTHROPIC_AUTH_TOKEN (Claude Code), authToken / apiKey (the Node SDK sends both as a bearer token).
  bearer: (token: string) => ({ authToken: token }),
  // ANTHROPIC_API_KEY (Claude Code), api_key (the Python SDK).
  'x-api-key': (token: string) => ({ apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': token } }),
};

function client(rig: Rig, how: keyof typeof CREDENTIALS = 'bearer', token = ACCESS_TOKEN, maxRetries = 0) {
  return new Anthropic({ baseURL: rig.url, maxRetries, timeout: 10_000, ...CREDENTIALS[how](token) });
}

async function failure(call: Promise<unknown>): Promise<ApiError> {
  try {
    await call;
  } catch (error) {
    expect(error).to.be.instanceOf(Anthropic.APIError);
    return error as ApiError;
  }
  throw new Error('expected the call to fail');
}

/** Requests that reached the imitation's /v1/messages. */
function messagesSent(rig: Rig): number {
  return rig.fake.count(undefined, '/v1/messages');
}

/** The access token appears in nothing the imitation received. */
function credentialNeverForwarded(rig: Rig): void {
  expect(rig.fake.received).not.to.have.length(0);
  for (const received of rig.fake.received) {
    expect(JSON.stringify(received.headers)).not.to.include(ACCESS_TOKEN);
    expect(KEYS).to.include(received.key);
  }
}

describe('Anthropic clients through the balancer (issue 26)', function () {
  this.timeout(15_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  for (const how of Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>) {
    it(`answers messages.create with the access token as ${how}; ModelScope sees a pool key only`, async () => {
      rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
      const message = await client(rig, how).messages.create(ASK);
      expect(message).to.deep.include({ type: 'message', role: 'assistant', model: MODEL });
      expect(message.content).to.deep.equal([{ type: 'text', text: 'Hello from the imitation.' }]);
      const counted = await client(rig, how).messages.countTokens({ model: MODEL, messages: ASK.messages });
      expect(counted.input_tokens).to.equal(message.usage.input_tokens);
      credentialNeverForwarded(rig);
      // The pool key goes in the header the client used (and as a bearer token, ModelScope's own way).
      const [seen] = rig.fake.received;
      expect(seen.headers.authorization).to.equal(`Bearer ${seen.key}`);
      expect(seen.headers['x-api-key']).to.equal(how === 'x-api-key' ? seen.key : undefined);
    });
  }

  it('streams: finalText() is every delta, and the usage of message_start and message_delta arrives', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] }, { fake: { streamChunks: 4, streamIntervalMs: 5 } });
    const stream = client(rig).messages.stream(ASK);
    expect(await stream.finalText()).to.equal('chunk 0 chunk 1 chunk 2 chunk 3 ');
    const final = await stream.finalMessage();
    expect(final.stop_reason).to.equal('end_turn');
    expect(final.usage.output_tokens).to.equal(4);
    expect(final.usage.input_tokens).to.be.above(0);
    credentialNeverForwarded(rig);
  });

  it('frees the upstream and blames no key when the client aborts mid-stream', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] }, { fake: { streamChunks: 100, streamIntervalMs: 20 } });
    const stream = client(rig).messages.stream(ASK);
    stream.on('text', () => stream.abort());
    let error: unknown;
    await stream.finalText().catch((caught) => (error = caught));
    expect(error).to.be.instanceOf(Anthropic.APIUserAbortError);
    await waitFor(() => rig.fake.abandoned === 1);
    await waitFor(() => Object.values(rig.balancer.stats()).every((key) => key.in_flight === 0));
    for (const key of Object.values(rig.balancer.stats()))
      expect(key).to.include({ healthy: true, state: 'healthy', consecutive_failures: 0, last_error: null });
    expect(messagesSent(rig)).to.equal(1);
  });

  for (const how of Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>) {
    it(`answers a wrong access token (${how}) with AuthenticationError and error.type`, async () => {
      rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
      const err = await failure(client(rig, how, 'not-the-access-token').messages.create(ASK));
      expect(err).to.be.instanceOf(Anthropic.AuthenticationError);
      expect(err).to.include({ status: 401, type: 'authentication_error' });
      expect(err.error).to.deep.nested.include({ type: 'error', 'error.code': 'invalid_access_token' });
      expect(err.apiMessage).to.include('x-api-key');
      expect(err.headers?.get('www-authenticate')).to.match(/^Bearer/);
      expect(rig.fake.received).to.have.length(0);
    });
  }

  it("fails over from a rate-limited key: the client gets the next key's answer", async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
    rig.fake.behave(KEYS[0], 'rate-limited');
    const { data, response } = await client(rig).messages.create(ASK).withResponse();
    expect(data.type).to.equal('message');
    expect(response.headers.get('x-modelscope-balance-attempts')).to.equal('2');
    expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
    expect(rig.balancer.stats()[Object.keys(rig.balancer.stats())[0]].state).to.equal('cooling');
  });

  it('answers RateLimitError in Anthropic shape while every key cools: Retry-After, no x-should-retry', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    // Every key tried: the last key's 429, ModelScope's body wrapped so the SDK reads it.
    const relayed = await failure(client(rig).messages.create(ASK));
    expect(relayed).to.be.instanceOf(Anthropic.RateLimitError);
    expect(relayed).to.include({ type: 'rate_limit_error', apiMessage: 'Request limit exceeded.' });
    expect(relayed.error).to.deep.include({ type: 'error', request_id: 'fake-request' });
    expect(relayed.error).to.deep.nested.include({ 'error.code': 'rate_limited' });
    expect(messagesSent(rig)).to.equal(3);
    // Now the balancer answers itself, without an upstream call.
    const own = await failure(client(rig).messages.create(ASK));
    expect(own).to.be.instanceOf(Anthropic.RateLimitError);
    expect(own.type).to.equal('rate_limit_error');
    expect(own.error).to.deep.nested.include({ type: 'error', 'error.code': 'all_keys_cooling' });
    expect(Number(own.headers?.get('retry-after'))).to.be.at.least(1);
    expect(own.headers?.get('x-should-retry')).to.equal(null);
    expect(messagesSent(rig)).to.equal(3);
  });

  it('answers RateLimitError, x-should-retry: false, once the pool is exhausted; the SDK does not retry', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
    for (const key of KEYS) rig.fake.behave(key, 'quota-exhausted');
    const first = await failure(client(rig, 'bearer', ACCESS_TOKEN, 2).messages.create(ASK));
    expect(first).to.be.instanceOf(Anthropic.RateLimitError);
    expect(first.type).to.equal('rate_limit_error');
    expect(first.error).to.deep.nested.include({ type: 'error', 'error.code': 'daily_quota_exhausted' });
    expect(first.headers?.get('x-should-retry')).to.equal('false');
    expect(messagesSent(rig)).to.equal(3);
    // The 429s were read as a used-up allowance (the counters at 0), not a short rate limit.
    for (const key of Object.values(rig.balancer.stats())) expect(key.state).to.equal('exhausted');
    const own = await failure(client(rig, 'x-api-key', ACCESS_TOKEN, 2).messages.create(ASK));
    expect(own).to.be.instanceOf(Anthropic.RateLimitError);
    expect(own.error).to.deep.equal({
      type: 'error',
      error: { type: 'rate_limit_error', message: own.apiMessage, code: 'daily_quota_exhausted' },
    });
    expect(own.headers?.get('x-should-retry')).to.equal('false');
    expect(Number(own.headers?.get('retry-after'))).to.be.above(60);
    expect(messagesSent(rig)).to.equal(3);
  });

  it("passes ModelScope's quota headers on Anthropic answers, and its 429 feeds the pool's figures", async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
    rig.fake.quota(KEYS[0], { limit: 100, remaining: 10, models: { [MODEL]: { limit: 50, remaining: 1 } } });
    const { response } = await client(rig).messages.create(ASK).withResponse();
    expect(response.headers.get('modelscope-ratelimit-requests-remaining')).to.equal('9');
    expect(response.headers.get('modelscope-ratelimit-model-requests-remaining')).to.equal('0');
    const stats = rig.balancer.stats()[Object.keys(rig.balancer.stats())[0]];
    expect(stats.quota).to.include({ limit: 100, remaining: 9 });
    expect(stats.quota.models[MODEL]).to.include({ limit: 50, remaining: 0 });
  });

  it('serves a request shaped as Claude Code sends it: beta query, anthropic-beta, Bearer access token', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] }, { fake: { streamChunks: 3, streamIntervalMs: 5 } });
    // Claude Code calls the SDK's beta Messages API at `/v1/messages?beta=true`, with ANTHROPIC_AUTH_TOKEN as the
    // bearer token.
    const claudeCode = new Anthropic({
      baseURL: rig.url,
      authToken: ACCESS_TOKEN,
      maxRetries: 0,
      defaultHeaders: {
        'anthropic-version': '2023-06-01',
        'x-app': 'cli',
        'user-agent': 'claude-cli/2.0.0 (external, cli)',
      },
    });
    const betas = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'];
    const stream = claudeCode.beta.messages.stream(
      {
        ...ASK,
        betas,
        system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
        metadata: { user_id: 'user_abc' },
      },
      { query: { beta: 'true' } },
    );
    expect(await stream.finalText()).to.equal('chunk 0 chunk 1 chunk 2 ');
    const [seen] = rig.fake.received;
    expect(seen.url).to.equal('/v1/messages?beta=true');
    expect(seen.headers).to.include({ 'anthropic-version': '2023-06-01', 'x-app': 'cli' });
    expect(seen.headers['anthropic-beta']).to.equal(betas.join(','));
    expect(seen.headers.authorization).to.equal(`Bearer ${seen.key}`);
    credentialNeverForwarded(rig);
    const refused = new Anthropic({ baseURL: rig.url, authToken: 'wrong-token', maxRetries: 0 });
    const err = await failure(refused.beta.messages.create({ ...ASK, betas }));
    expect(err).to.be.instanceOf(Anthropic.AuthenticationError);
    expect(err.error).to.deep.nested.include({ type: 'error', 'error.type': 'authentication_error' });
  });

  it('wraps upstream error bodies that are not Anthropic-shaped, scrubbed of keys; keeps Anthropic ones', async () => {
    rig = await startRig({ accessTokens: [ACCESS_TOKEN] });
    rig.fake.behave(KEYS[0], 'echo-token-error');
    const echoed = await failure(client(rig).messages.create(ASK));
    expect(echoed).to.be.instanceOf(Anthropic.BadRequestError);
    expect(echoed.type).to.equal('invalid_request_error');
    expect(echoed.apiMessage).to.be.a('string').and.not.equal('');
    assertNoKeyIn(JSON.stringify(echoed.error));
    assertNoKeyIn(echoed.message);
    const anthropicShaped = { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: too big' } };
    rig.fake.behave(KEYS[1], { status: 400, body: anthropicShaped });
    const passed = await failure(client(rig).messages.create(ASK));
    expect(passed.error).to.deep.equal(anthropicShaped);
    for (const key of KEYS) rig.fake.behave(key, { status: 500, body: { errors: { message: 'Model crashed.' } } });
    const broken = await failure(client(rig).messages.create(ASK));
    expect(broken).to.be.instanceOf(Anthropic.InternalServerError);
    expect(broken).to.include({ type: 'api_error', apiMessage: 'Model crashed.' });
  });
});
