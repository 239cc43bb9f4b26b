// Issues 25 and 26 together: a model route applies to Anthropic's Messages API as to chat completions, streams
// included, and an Anthropic client sees the model that served it.
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { KEYS, startRig, type Rig } from '../helpers.js';

const [FIRST, NEXT] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];
const ASK = { model: 'coder', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('model routes on /v1/messages, through @anthropic-ai/sdk', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('moves an alias to the next model once the first is used up on every key, created and streamed', async () => {
    rig = await startRig({ modelRoutes: { coder: [FIRST, NEXT] } });
    for (const key of KEYS) rig.fake.modelQuota(key, FIRST, { limit: 200, remaining: 0 });
    const claude = new Anthropic({ baseURL: rig.url, authToken: 'unused', maxRetries: 0 });
    const { data, response } = await claude.messages.create(ASK).withResponse();
    expect(response.headers.get('x-modelscope-balance-model')).to.equal(NEXT);
    expect(data.model).to.equal(NEXT);
    const stream = claude.messages.stream(ASK);
    expect(await stream.finalText()).to.match(/^chunk 0 /);
    const sent = rig.fake.received.filter((r) => r.url.startsWith('/v1/messages'));
    // Each key's first call found the first model used up; afterwards no call is spent on it.
    expect(sent.filter((r) => r.body.includes(JSON.stringify(FIRST))).length).to.be.at.most(KEYS.length);
    expect(JSON.parse(sent.at(-1)!.body.toString()).model).to.equal(NEXT);
  });
});
