import { expect } from 'chai';
import { answerFormat, UsageTap } from '../../lib/upstream/usage-tap.js';
import { cuts, expectEveryCut, read } from '../fixtures/usage-cuts.js';

describe('usage tap: OpenAI and Anthropic JSON answers', () => {
  it('reads prompt, completion and total tokens, with cached and reasoning detail, cut anywhere', () => {
    const answer = JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'Qwen/Qwen3-32B',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi "there" \\ 你好 😀' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 120,
        completion_tokens: 48,
        total_tokens: 168,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 30 },
      },
    });
    expectEveryCut(answer, {
      promptTokens: 120,
      completionTokens: 48,
      totalTokens: 168,
      cachedPromptTokens: 64,
      reasoningTokens: 30,
    });
  });

  it("reads Anthropic's input and output tokens, counting cache reads and writes as prompt tokens", () => {
    const answer = JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Hello' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 20, cache_creation_input_tokens: 100, cache_read_input_tokens: 300, output_tokens: 12 },
    });
    expectEveryCut(answer, { promptTokens: 420, completionTokens: 12, cachedPromptTokens: 300, cacheWriteTokens: 100 });
  });

  it('takes only the top-level usage: never one nested in choices or named inside a string', () => {
    const nested = {
      choices: [{ message: { content: '"usage": {"prompt_tokens": 999}', usage: { prompt_tokens: 998 } } }],
      meta: [{ usage: { completion_tokens: 997 } }],
    };
    expectEveryCut(JSON.stringify(nested), undefined);
    expectEveryCut(JSON.stringify({ ...nested, usage: { prompt_tokens: 3, completion_tokens: 4 } }), {
      promptTokens: 3,
      completionTokens: 4,
    });
    // A string ending in `"usage` (an escaped quote before it) followed by a colon-like text is no key.
    expectEveryCut('{"note":"he said \\"usage","x":{"a":":"},"usage":{"output_tokens":7}}', {
      promptTokens: 0,
      completionTokens: 7,
    });
  });

  it('reads a key written with escapes, and strings ending in escaped backslashes, cut anywhere', () => {
    expectEveryCut('{"s":"a\\\\","t":"\\\\\\"","us\\u0061ge":{"prompt_tokens":1,"completion_tokens":2}}', {
      promptTokens: 1,
      completionTokens: 2,
    });
  });

  it('keeps the last of two top-level usage members whole, as JSON.parse does', () => {
    const answer = '{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"usage":{"prompt_tokens":5}}';
    expectEveryCut(answer, { promptTokens: 5, completionTokens: 0 });
    expect(read(['{"usage":{"prompt_tokens":1},"usage":null}'])).to.equal(undefined);
  });

  it('reads embeddings (prompt tokens only) and ignores counts that are not whole numbers', () => {
    expect(
      read(['{"object":"list","data":[{"embedding":[0.1,-2e-3]}],"usage":{"prompt_tokens":8,"total_tokens":8}}']),
    ).to.deep.equal({ promptTokens: 8, completionTokens: 0, totalTokens: 8 });
    expect(read(['{"usage":{"prompt_tokens":"8","completion_tokens":-1,"total_tokens":1.5}}'])).to.equal(undefined);
    expect(read(['{"usage":{"prompt_tokens":1e400,"completion_tokens":2}}'])).to.deep.equal({
      promptTokens: 0,
      completionTokens: 2,
    });
  });

  it('reads a body of any size holding only the usage value; a usage larger than the limit is skipped', () => {
    const content = 'x\\"y\\n'.repeat(1_000_000 / 6);
    const big = Buffer.from(`{"choices":[{"message":{"content":"${content}"}}],"usage":{"prompt_tokens":9}}`);
    const chunks = Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) =>
      big.subarray(i * 65536, (i + 1) * 65536),
    );
    expect(read(chunks)).to.deep.equal({ promptTokens: 9, completionTokens: 0 });
    const padded = `{"usage":{"prompt_tokens":9,"pad":"${'p'.repeat(200)}"}}`;
    expect(read([padded], { maxUsageBytes: 100 })).to.equal(undefined);
    expect(read([padded], { maxUsageBytes: 300 })).to.deep.equal({ promptTokens: 9, completionTokens: 0 });
    for (const chunks of cuts(padded)) expect(read(chunks, { maxUsageBytes: 100 })).to.equal(undefined);
  });

  it('gives undefined, never an exception, for arrays, cut-off and malformed bodies', () => {
    expect(read(['[{"usage":{"prompt_tokens":1}}]'])).to.equal(undefined);
    expect(read(['{"usage":{"prompt_tokens":1,"completion_'])).to.equal(undefined);
    expect(read(['{"usage":{"prompt_tokens":1 "x"}}'])).to.equal(undefined);
    expect(read(['{"usage":{"prompt_tokens":1}}'], { format: 'json' })).to.deep.equal({
      promptTokens: 1,
      completionTokens: 0,
    });
    expect(read(['}}]]"usage":{"prompt_tokens":1}'], { format: 'json' })).to.equal(undefined);
    let seed = 26;
    const bytes = Buffer.alloc(4096);
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < bytes.length; i++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        bytes[i] = '{}[]":,\\u \n\rsage0'.charCodeAt(seed % 18);
      }
      for (const format of ['json', 'sse'] as const) expect(() => read([bytes], { format })).not.to.throw();
    }
  });

  it('neither changes nor needs the chunks it was given', () => {
    const chunk = Buffer.from('{"usage":{"prompt_tokens":1,"completion_tokens":1}}');
    const copy = Buffer.from(chunk);
    const tap = new UsageTap();
    tap.push(chunk.subarray(0, 20));
    chunk.fill(0x20, 0, 20); // the relay may reuse or free what it passed on
    tap.push(copy.subarray(20));
    tap.end();
    expect(tap.usage()).to.deep.equal({ promptTokens: 1, completionTokens: 1 });
  });
});

describe('usage tap: framing', () => {
  it('tells JSON from SSE by the first byte when not told, after any whitespace', () => {
    expect(read(['  \n', ' {"usage":{"prompt_tokens":1}}'])).to.deep.equal({ promptTokens: 1, completionTokens: 0 });
    expect(read(['\n', 'data: {"usage":{"prompt_tokens":1}}\n\n'])).to.deep.equal({
      promptTokens: 1,
      completionTokens: 0,
    });
    expect(read([': hello\n\ndata: {"usage":{"prompt_tokens":1}}\n\n'])).to.deep.equal({
      promptTokens: 1,
      completionTokens: 0,
    });
    expect(read([])).to.equal(undefined);
  });

  it('names the framing of a content type', () => {
    expect(answerFormat('text/event-stream; charset=utf-8')).to.equal('sse');
    expect(answerFormat('application/json')).to.equal('json');
    expect(answerFormat('Application/JSON; charset=utf-8')).to.equal('json');
    expect(answerFormat('application/problem+json')).to.equal('json');
    expect(answerFormat('text/html')).to.equal(undefined);
    expect(answerFormat(undefined)).to.equal(undefined);
  });

  it('refuses limits that are not whole positive numbers, and formats it does not know, saying what fits', () => {
    expect(() => new UsageTap({ maxLineBytes: 0 })).to.throw(RangeError, /maxLineBytes must be a whole number/);
    expect(() => new UsageTap({ maxUsageBytes: 1.5 })).to.throw(RangeError, /maxUsageBytes/);
    expect(() => new UsageTap({ format: 'xml' as 'json' })).to.throw(RangeError, /'sse', 'json' or undefined/);
  });

  it('ignores chunks after the end', () => {
    const tap = new UsageTap();
    tap.end();
    tap.push(Buffer.from('{"usage":{"prompt_tokens":1}}'));
    expect(tap.usage()).to.equal(undefined);
  });
});

describe('usage tap: memory', () => {
  const MiB = 1024 * 1024;
  const piece = Buffer.alloc(64 * 1024, 'x');

  /** Bytes of Buffer memory a tap holds after `head` and 50 MiB of `x`, with garbage collected around it. */
  function heldAfter(format: 'sse' | 'json', head: string): number {
    const gc = (global as { gc?: () => void }).gc as () => void;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const tap = new UsageTap({ format });
    tap.push(Buffer.from(head));
    for (let i = 0; i < 800; i++) tap.push(piece);
    gc();
    const held = process.memoryUsage().arrayBuffers - before;
    expect(tap.usage()).to.equal(undefined); // and the tap is still alive here
    return held;
  }

  it('holds at most one line of an SSE stream that never ends its line', () => {
    expect(heldAfter('sse', 'data: {"usage":{"prompt_tokens":1},"pad":"')).to.be.below(2 * MiB);
  });

  it('holds nothing of a 50 MiB JSON string, and at most the limit of a usage value that never ends', () => {
    expect(heldAfter('json', '{"choices":[{"message":{"content":"')).to.be.below(MiB / 2);
    expect(heldAfter('json', '{"usage":{"pad":"')).to.be.below(MiB / 2);
  });
});
