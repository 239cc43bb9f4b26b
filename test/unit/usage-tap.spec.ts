import { expect } from 'chai';
import { answerFormat, type TokenUsage, UsageTap, type UsageTapOptions } from '../../lib/upstream/usage-tap.js';

/** The usage a tap reads from `chunks`, pushed in order. */
function read(chunks: Array<string | Buffer>, options?: UsageTapOptions): TokenUsage | undefined {
  const tap = new UsageTap(options);
  for (const chunk of chunks) tap.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  tap.end();
  return tap.usage();
}

/** The same body cut in every way that matters: whole, byte by byte, and in two at every position. */
function cuts(text: string): Buffer[][] {
  const bytes = Buffer.from(text);
  const all: Buffer[][] = [[bytes], Array.from(bytes, (byte) => Buffer.from([byte]))];
  for (let at = 1; at < bytes.length; at++) all.push([bytes.subarray(0, at), bytes.subarray(at)]);
  return all;
}

function expectEveryCut(text: string, expected: TokenUsage | undefined, options?: UsageTapOptions): void {
  for (const chunks of cuts(text)) {
    expect(read(chunks, options), `cut at ${chunks[0].length} of ${text.length}`).to.deep.equal(expected);
  }
}

const sse = (events: object[]) => events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('');

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

describe('usage tap: OpenAI event streams', () => {
  const delta = (content: string, extra: object = {}) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
    ...extra,
  });

  it('reads the include_usage chunk (choices: [] and usage) before [DONE], past `usage: null` on the others', () => {
    const stream = `${sse([
      delta('Hel', { usage: null }),
      delta('lo 😀 "usage": 5', { usage: null }),
      { id: 'chatcmpl-1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null },
      { id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 } },
    ])}data: [DONE]\n\n`;
    expectEveryCut(stream, { promptTokens: 11, completionTokens: 3, totalTokens: 14 });
  });

  it('takes the last usage seen when a server repeats it on every chunk, or puts it on the finish chunk', () => {
    const running = sse([
      delta('a', { usage: { prompt_tokens: 11, completion_tokens: 1, total_tokens: 12 } }),
      delta('b', { usage: { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 } }),
    ]);
    expectEveryCut(`${running}data: [DONE]\n\n`, { promptTokens: 11, completionTokens: 2, totalTokens: 13 });
    const onFinish = sse([
      delta('a'),
      { choices: [{ finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: 1 } },
    ]);
    expect(read([onFinish])).to.deep.equal({ promptTokens: 4, completionTokens: 1 });
  });

  it('finds the usage after text full of g (the letter it is searched by) and none where it is null', () => {
    const g = (usage: unknown) => sse([delta('going gaga '.repeat(50), { usage }), delta('g"usage"g', { usage })]);
    expect(read([g({ prompt_tokens: 6, completion_tokens: 7 })])).to.deep.equal({
      promptTokens: 6,
      completionTokens: 7,
    });
    expect(read([g(null)])).to.equal(undefined);
  });

  it('finds nothing in a stream without usage', () => {
    expectEveryCut(`${sse([delta('a', { usage: null }), delta('b')])}data: [DONE]\n\n`, undefined);
  });

  it('reads an event whose data spans several data lines, and a last event without its blank line', () => {
    const lines = 'data: {"choices":[],\ndata: "usage":{"prompt_tokens":2,\ndata:"completion_tokens":3}}\n\n';
    for (const ending of ['\n', '\r\n', '\r']) {
      expectEveryCut(lines.replaceAll('\n', ending), { promptTokens: 2, completionTokens: 3 });
    }
    expect(read(['data: {"usage":{"prompt_tokens":2,"completion_tokens":3}}'])).to.deep.equal({
      promptTokens: 2,
      completionTokens: 3,
    });
  });

  it('skips a line over the limit without holding it (its event unread), and reads the events after it', () => {
    const long = `data: {"usage":{"prompt_tokens":1,"completion_tokens":1},"pad":"${'x'.repeat(300)}"}\n\n`;
    const after = 'data: {"usage":{"prompt_tokens":2,"completion_tokens":2}}\n\n';
    expectEveryCut(long, undefined, { maxLineBytes: 256 });
    expectEveryCut(`${long}${after}`, { promptTokens: 2, completionTokens: 2 }, { maxLineBytes: 256 });
    // A long comment is no data: the event around it is read.
    const comment = `data: {"usage":{"prompt_tokens":3,"completion_tokens":3}}\n:${'c'.repeat(300)}\n\n`;
    expectEveryCut(comment, { promptTokens: 3, completionTokens: 3 }, { maxLineBytes: 256 });
    // Data lines that each fit but together exceed the limit: the event is not read.
    const many = `${'data: {"usage":{"prompt_tokens":4}}\n'.repeat(10)}\n`;
    expect(read([many], { maxLineBytes: 256 })).to.equal(undefined);
  });
});

describe('usage tap: Anthropic event streams', () => {
  const event = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const stream = [
    event('message_start', {
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'Qwen/Qwen3-Coder-480B-A35B-Instruct',
        usage: { input_tokens: 25, cache_read_input_tokens: 10, output_tokens: 1 },
      },
    }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', {}),
    ': a comment line\n\n',
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: '你好, "usage": 😀' } }),
    event('content_block_stop', { index: 0 }),
    event('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } }),
    event('message_delta', { delta: {}, usage: { output_tokens: 15 } }),
    event('message_stop', {}),
  ].join('');
  const expected = { promptTokens: 35, completionTokens: 15, cachedPromptTokens: 10 };

  it('reads input tokens from message_start and the last output tokens from message_delta, cut anywhere', () => {
    expectEveryCut(stream, expected);
  });

  it('reads the same with \\r\\n and with \\r line endings', () => {
    expectEveryCut(stream.replaceAll('\n', '\r\n'), expected);
    expectEveryCut(stream.replaceAll('\n', '\r'), expected);
  });

  it("reads the Responses API's response.completed the same way", () => {
    const completed = event('response.completed', {
      response: { id: 'resp_1', usage: { input_tokens: 9, output_tokens: 4, total_tokens: 13 } },
    });
    expect(read([completed])).to.deep.equal({ promptTokens: 9, completionTokens: 4, totalTokens: 13 });
  });

  it('gives what it has read so far when asked before the end', () => {
    const tap = new UsageTap({ format: 'sse' });
    tap.push(Buffer.from(stream.slice(0, stream.indexOf('event: content_block_start'))));
    expect(tap.usage()).to.deep.equal({ promptTokens: 35, completionTokens: 1, cachedPromptTokens: 10 });
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
