// The imitation's Messages API driven by the real `@anthropic-ai/sdk`, with no balancer in between: what users' own
// tests (and the balancer's) can rely on.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, request, waitFor } from '../helpers.js';

const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const ASK = { model: MODEL, max_tokens: 256, messages: [{ role: 'user' as const, content: 'Say hello.' }] };

/** The three ways a key reaches ModelScope's Anthropic endpoint. */
const CREDENTIALS = {
  // @anthropic-ai/sdk 1.x sends `apiKey` as a bearer token, like `authToken`.
  apiKey: (key: string) => ({ apiKey: key }),
  authToken: (key: string) => ({ authToken: key }),
  // What the Python SDK sends for api_key, and Claude Code for ANTHROPIC_API_KEY.
  'x-api-key': (key: string) => ({ apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': key } }),
};

function client(fake: FakeModelScope, key: string, how: keyof typeof CREDENTIALS = 'authToken', maxRetries = 0) {
  return new Anthropic({ baseURL: fake.url, maxRetries, timeout: 10_000, ...CREDENTIALS[how](key) });
}

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  try {
    await call;
  } catch (error) {
    expect(error).to.be.instanceOf(Anthropic.APIError);
    return error as InstanceType<typeof Anthropic.APIError>;
  }
  throw new Error('expected the call to fail');
}

/** The SSE events of a raw answer: [event name, parsed data]. */
function events(body: string): Array<[string, Record<string, unknown>]> {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const name = /^event: (.+)$/m.exec(block)?.[1] ?? '';
      const data = JSON.parse(/^data: (.+)$/m.exec(block)?.[1] ?? 'null');
      expect(data.type, block).to.equal(name);
      return [name, data];
    });
}

describe("the imitation's Messages API, with the real @anthropic-ai/sdk", function () {
  this.timeout(10_000);
  let fake: FakeModelScope;
  afterEach(async () => fake?.close());

  for (const how of Object.keys(CREDENTIALS) as Array<keyof typeof CREDENTIALS>) {
    it(`answers messages.create for a key sent as ${how}, and records which header carried it`, async () => {
      fake = await startFakeModelScope({ keys: [KEYS[0]] });
      const message = await client(fake, KEYS[0], how).messages.create(ASK);
      expect(message).to.deep.include({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn' });
      expect(message.content).to.deep.equal([{ type: 'text', text: 'Hello from the imitation.' }]);
      expect(message.usage).to.include({ output_tokens: 5 });
      expect(message.usage.input_tokens).to.be.a('number').above(0);
      const [seen] = fake.received;
      expect(seen).to.include({ key: KEYS[0], keyHeader: how === 'x-api-key' ? 'x-api-key' : 'authorization' });
      expect(fake.count(KEYS[0], '/v1/messages')).to.equal(1);
      const refused = await failure(client(fake, KEYS[1], how).messages.create(ASK));
      expect(refused).to.be.instanceOf(Anthropic.AuthenticationError);
    });
  }

  it('streams: finalText() is every delta, finalMessage().usage has the input and output tokens', async () => {
    fake = await startFakeModelScope({ streamChunks: 4, streamIntervalMs: 1 });
    const sdk = client(fake, KEYS[0]);
    const stream = sdk.messages.stream(ASK);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    expect(await stream.finalText()).to.equal('chunk 0 chunk 1 chunk 2 chunk 3 ');
    expect(deltas).to.have.length(4);
    const final = await stream.finalMessage();
    expect(final.stop_reason).to.equal('end_turn');
    const counted = await sdk.messages.countTokens({ model: MODEL, messages: ASK.messages });
    expect(final.usage).to.include({ input_tokens: counted.input_tokens, output_tokens: 4 });
    expect(fake.count(KEYS[0], '/v1/messages/count_tokens')).to.equal(1);
  });

  it("sends Anthropic's events in order, paced, with a ping and the quota headers", async () => {
    fake = await startFakeModelScope({ streamChunks: 3, streamIntervalMs: 20 });
    fake.quota(KEYS[0], { limit: 100, remaining: 10 });
    const res = await request(`${fake.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': KEYS[0], 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ ...ASK, stream: true }),
    });
    expect(res.headers['content-type']).to.equal('text/event-stream');
    expect(res.headers['modelscope-ratelimit-requests-remaining']).to.equal('9');
    const seen = events(res.body);
    expect(seen.map(([name]) => name)).to.deep.equal([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect((seen[0][1].message as { usage: object }).usage)
      .to.have.property('input_tokens')
      .above(0);
    expect(seen[7][1]).to.deep.include({ usage: { output_tokens: 3 } });
    expect((seen[7][1].delta as object as { stop_reason: string }).stop_reason).to.equal('end_turn');
    // Paced: the end came three intervals (3 × 20 ms) after the request at the earliest, not in one write.
    expect(res.chunkTimes.at(-1)).to.be.at.least(55);
  });

  it('lets the client abort mid-stream: the SDK rejects with APIUserAbortError, the imitation sees it leave', async () => {
    fake = await startFakeModelScope({ streamChunks: 50, streamIntervalMs: 20 });
    const stream = client(fake, KEYS[0]).messages.stream(ASK);
    stream.on('text', () => stream.abort());
    let error: unknown;
    await stream.finalText().catch((caught) => (error = caught));
    expect(error).to.be.instanceOf(Anthropic.APIUserAbortError);
    await waitFor(() => fake.abandoned === 1);
  });

  it('counts tokens as the message does, more for a longer prompt, and refuses a body that is not JSON', async () => {
    fake = await startFakeModelScope();
    const sdk = client(fake, KEYS[0], 'x-api-key');
    const short = await sdk.messages.countTokens({ model: MODEL, messages: ASK.messages });
    const long = await sdk.messages.countTokens({
      model: MODEL,
      system: 'You are a careful engineer.',
      messages: [{ role: 'user', content: 'Say hello. '.repeat(40) }],
    });
    expect(long.input_tokens).to.be.above(short.input_tokens);
    expect((await sdk.messages.create(ASK)).usage.input_tokens).to.equal(short.input_tokens);
    const bad = await request(`${fake.url}/v1/messages/count_tokens`, { method: 'POST', body: '{nope' });
    expect(bad.status).to.equal(400);
  });

  it("surfaces a rate-limited key as RateLimitError, with ModelScope's own body", async () => {
    fake = await startFakeModelScope();
    fake.behave(KEYS[0], 'rate-limited');
    const err = await failure(client(fake, KEYS[0], 'x-api-key').messages.create(ASK));
    expect(err).to.be.instanceOf(Anthropic.RateLimitError);
    expect(err.status).to.equal(429);
    expect(err.error).to.deep.equal({ errors: { message: 'Request limit exceeded.', request_id: 'fake-request' } });
  });

  it('applies the per-key behaviours to /v1/messages and count_tokens alike', async () => {
    fake = await startFakeModelScope({ counters: true });
    fake.behave(KEYS[0], 'quota-exhausted').behave(KEYS[1], 'balance-exhausted').behave(KEYS[2], 'server-error');
    const exhausted = await failure(client(fake, KEYS[0]).messages.countTokens({ model: MODEL, messages: [] }));
    expect(exhausted.headers?.get('modelscope-ratelimit-requests-remaining')).to.equal('0');
    const balance = await failure(client(fake, KEYS[1]).messages.create(ASK));
    expect(balance).to.be.instanceOf(Anthropic.PermissionDeniedError);
    expect(balance.error).to.deep.nested.include({ 'errors.code': 'QuotaLimitExceed' });
    expect(await failure(client(fake, KEYS[2]).messages.create(ASK))).to.be.instanceOf(Anthropic.InternalServerError);
    const metered = await startFakeModelScope();
    try {
      metered.points(KEYS[0], { daily: 2, costs: { [MODEL]: 2 } });
      await client(metered, KEYS[0]).messages.create(ASK);
      expect(metered.pointsLeft(KEYS[0])).to.equal(0);
      expect(await failure(client(metered, KEYS[0]).messages.create(ASK))).to.have.property('status', 403);
    } finally {
      await metered.close();
    }
  });

  it('breaks an Anthropic stream after two deltas: the SDK has the text so far, then rejects', async () => {
    fake = await startFakeModelScope();
    fake.behave(KEYS[0], 'stream-break');
    const stream = client(fake, KEYS[0]).messages.stream(ASK);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    let error: unknown;
    await stream.finalMessage().catch((caught) => (error = caught));
    expect(error).to.be.instanceOf(Error);
    expect(deltas).to.deep.equal(['chunk 0 ', 'chunk 1 ']);
    const res = await request(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS[0]}` },
      body: JSON.stringify({ ...ASK, stream: true }),
    });
    expect(res.complete).to.equal(false);
    expect(events(res.body).map(([name]) => name)).to.deep.equal([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
    ]);
  });

  it('stalls an Anthropic stream after two deltas, the connection left open', async () => {
    fake = await startFakeModelScope();
    fake.behave(KEYS[0], 'stream-stall');
    const body: string[] = [];
    const answer = request(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEYS[0] },
      body: JSON.stringify({ ...ASK, stream: true }),
      onData: (chunk) => body.push(chunk),
    });
    await waitFor(() => body.join('').split('event: content_block_delta').length === 3);
    // The imitation's faulty streams are paced at 10 ms: ten times that with nothing more is a stall.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events(body.join('')).map(([name]) => name)).to.deep.equal([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
    ]);
    await fake.close();
    expect((await answer).complete).to.equal(false);
  });
});
