import { expect } from 'chai';
import { UsageTap } from '../../lib/upstream/usage-tap.js';
import { expectEveryCut, read, sse } from '../fixtures/usage-cuts.js';

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
      // The usage chunk itself holds multibyte characters, so some cuts fall inside one.
      {
        id: 'chatcmpl-1',
        model: '通义千问-😀',
        choices: [],
        usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
      },
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
