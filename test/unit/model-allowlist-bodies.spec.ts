import { expect } from 'chai';
import OpenAI from 'openai';
import { readModel, rewriteModel } from '../../lib/upstream/request-model.js';

/**
 * The bodies the official OpenAI SDK sends, caught by its `fetch` option (no socket): a model allowlist and a model
 * route read these on the request path, streamed chat and ModelScope's async image tasks included.
 */
function capturingClient(answer: () => Response): { client: OpenAI; bodies: Buffer[]; headers: Headers[] } {
  const bodies: Buffer[] = [];
  const headers: Headers[] = [];
  const client = new OpenAI({
    apiKey: 'ms-test',
    baseURL: 'http://balancer.invalid/v1',
    maxRetries: 0,
    fetch: async (_url: string | URL | Request, init?: RequestInit) => {
      bodies.push(Buffer.from(String(init?.body ?? '')));
      headers.push(new Headers(init?.headers));
      return answer();
    },
  });
  return { client, bodies, headers };
}

const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';

describe('request model: the bodies clients send for streams and async tasks', () => {
  it('reads and rewrites the model of a streamed chat request with stream_options (as the SDK sends it)', async () => {
    const sse = () =>
      new Response('data: [DONE]\n\n', { status: 200, headers: { 'content-type': 'text/event-stream' } });
    const { client, bodies } = capturingClient(sse);
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'say "model": "other" — 你好' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream) {
      // nothing to read: the body is what this test is about
    }
    const sent = bodies[0];
    expect(JSON.parse(sent.toString()).stream).to.equal(true);
    expect(readModel(sent)).to.equal(MODEL);
    const routed = rewriteModel(sent, 'Qwen/Qwen3-Coder-30B-A3B-Instruct') as Buffer;
    expect(JSON.parse(routed.toString())).to.deep.equal({
      ...JSON.parse(sent.toString()),
      model: 'Qwen/Qwen3-Coder-30B-A3B-Instruct',
    });
  });

  it("reads the model of an async image task submission (ModelScope's X-ModelScope-Async-Mode)", async () => {
    const task = () =>
      new Response(JSON.stringify({ task_id: 'task-1', request_id: 'req-1' }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    const { client, bodies, headers } = capturingClient(task);
    await client.images.generate(
      { model: 'Qwen/Qwen-Image', prompt: 'A golden cat', size: '1024x1024' },
      { headers: { 'X-ModelScope-Async-Mode': 'true' } },
    );
    expect(headers[0].get('x-modelscope-async-mode')).to.equal('true');
    expect(readModel(bodies[0])).to.equal('Qwen/Qwen-Image');
    expect(readModel(rewriteModel(bodies[0], 'black-forest-labs/FLUX.1-Krea-dev') as Buffer)).to.equal(
      'black-forest-labs/FLUX.1-Krea-dev',
    );
  });

  it('finds no model in a task poll (GET, no body): the task stays on the key that made it', () => {
    expect(readModel(Buffer.alloc(0))).to.equal(undefined);
  });

  it('reads the model of an Anthropic messages body, streamed or not', () => {
    for (const stream of [false, true]) {
      const sent = Buffer.from(
        JSON.stringify({
          model: MODEL,
          max_tokens: 1024,
          stream,
          system: [{ type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } }],
          messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
          metadata: { user_id: 'user_abc' },
        }),
      );
      expect(readModel(sent)).to.equal(MODEL);
    }
  });
});
