// Issues 24 and 26 together: a named client on Anthropic's Messages API, through the real SDK. Its token is read
// from either header and never forwarded, its limits answer in Anthropic's shape, and its usage is read from
// Anthropic's `usage` (a JSON answer's, a stream's message_start and message_delta).
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { startRig, type Rig } from '../helpers.js';

const TOKEN = 'research-token-0123456789abcdef';
const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const ASK = { model: MODEL, max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('named clients on /v1/messages, through @anthropic-ai/sdk', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('counts Anthropic usage per client and refuses past the budget as a rate_limit_error, not retried', async () => {
    rig = await startRig({ clients: [{ name: 'research', token: TOKEN, dailyRequests: 2 }] });
    const bearer = new Anthropic({ baseURL: rig.url, authToken: TOKEN, maxRetries: 2 });
    const apiKey = new Anthropic({
      baseURL: rig.url,
      apiKey: null,
      authToken: null,
      defaultHeaders: { 'x-api-key': TOKEN },
      maxRetries: 2,
    });
    const created = await bearer.messages.create(ASK);
    const streamed = await apiKey.messages.stream(ASK).finalMessage();
    for (const r of rig.fake.received) expect(JSON.stringify(r.headers)).not.to.include(TOKEN);
    let refused: unknown;
    try {
      await bearer.messages.create(ASK);
    } catch (error) {
      refused = error;
    }
    expect(refused).to.be.instanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.error).to.deep.include({ type: 'error' });
    expect((error.error as { error: { type: string; code: string } }).error).to.include({
      type: 'rate_limit_error',
      code: 'client_daily_limit',
    });
    expect(error.headers?.get('x-should-retry')).to.equal('false');
    expect(rig.fake.count(undefined, '/v1/messages'), 'the refusal is not retried nor sent').to.equal(2);
    const usage = await rig.balancer.usage('research');
    expect(usage).to.deep.include({
      requests: 2,
      remaining: 0,
      prompt_tokens: created.usage.input_tokens + streamed.usage.input_tokens,
      completion_tokens: created.usage.output_tokens + streamed.usage.output_tokens,
    });
  });
});
