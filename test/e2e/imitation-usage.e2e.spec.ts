import http from 'node:http';
import { expect } from 'chai';
import OpenAI from 'openai';
import { imitatedTokens } from '../../lib/testing/index.js';
import { answerFormat, type TokenUsage, UsageTap } from '../../lib/upstream/usage-tap.js';
import { type Rig, startRig } from '../helpers.js';

/** Posts `body` and feeds every chunk of the answer to a usage tap as it arrives, as the relay will. */
function tapAnswer(url: string, body: object): Promise<{ usage: TokenUsage | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false },
      (res) => {
        const tap = new UsageTap({ format: answerFormat(res.headers['content-type']) });
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          tap.push(chunk);
          chunks.push(chunk);
        });
        res.on('end', () => {
          tap.end();
          resolve({ usage: tap.usage(), text: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('the imitation reports usage as OpenAI does', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig({}, { fake: { streamChunks: 4, streamIntervalMs: 1 } });
  });
  afterEach(async () => rig?.close());

  const ask = {
    model: 'Qwen/Qwen2.5-7B-Instruct',
    messages: [{ role: 'user' as const, content: 'Count to four, please.' }],
  };
  /** What the imitation counts for the last request it received and the text it streamed. */
  const expected = (answerText: string) => {
    const prompt = imitatedTokens(rig.fake.received.at(-1)!.body.length);
    const completion = imitatedTokens(Buffer.byteLength(answerText));
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };

  it('sends a usage chunk (choices: []) before [DONE] when the SDK asks include_usage, through the balancer', async () => {
    const client = new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: 'client-side-token', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text).to.equal('chunk 0 chunk 1 chunk 2 chunk 3 ');
    expect(last.choices).to.deep.equal([]);
    expect(last.usage).to.deep.equal(expected(text));
    // As OpenAI: every other chunk says `usage: null`, and the finish chunk comes just before the usage chunk.
    expect(chunks.slice(0, -1).map((chunk) => chunk.usage)).to.deep.equal(Array(5).fill(null));
    expect(chunks.at(-2)!.choices[0].finish_reason).to.equal('stop');
  });

  it('lets a usage tap read that chunk out of the stream as it passes', async () => {
    const answer = await tapAnswer(`${rig.url}/v1/chat/completions`, {
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    const usage = expected('chunk 0 chunk 1 chunk 2 chunk 3 ');
    expect(answer.text.endsWith('data: [DONE]\n\n')).to.equal(true);
    expect(answer.usage).to.deep.equal({
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens,
    });
  });

  it('streams as before when the client does not ask: no usage anywhere, the finish chunk last', async () => {
    const answer = await tapAnswer(`${rig.url}/v1/chat/completions`, { ...ask, stream: true });
    expect(answer.usage).to.equal(undefined);
    expect(answer.text).not.to.include('usage');
    const events = answer.text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).to.equal('data: [DONE]');
    expect(JSON.parse(events.at(-2)!.slice('data: '.length)).choices[0].finish_reason).to.equal('stop');
  });

  it('counts prompt tokens from the request and completion tokens from the answer in a JSON answer', async () => {
    const long = { ...ask, messages: [{ role: 'user', content: 'x'.repeat(4000) }] };
    const answer = await tapAnswer(`${rig.url}/v1/chat/completions`, long);
    const usage = expected('Hello from the imitation.');
    expect(JSON.parse(answer.text).usage).to.deep.equal(usage);
    expect(usage.prompt_tokens).to.be.greaterThan(1000);
    expect(answer.usage).to.deep.equal({
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens,
    });
  });
});
