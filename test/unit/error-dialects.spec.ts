import { expect } from 'chai';
import { ANTHROPIC_DIALECT } from '../../lib/answers/anthropic-dialect.js';
import { dialectOf } from '../../lib/answers/dialect.js';
import { OPENAI_DIALECT } from '../../lib/answers/openai-dialect.js';
import { anthropicErrorBody, toAnthropicErrorBody } from '../../lib/dialect/anthropic.js';

const MODELSCOPE_429 = Buffer.from('{"errors":{"message":"Too many requests","request_id":"r-1"}}');

describe('error dialects: one writer per shape', () => {
  it('OpenAI: our errors as {"error":{message,type,code}}, a ModelScope error body reshaped with its request id', () => {
    expect(JSON.parse(OPENAI_DIALECT.errorBody(429, 'all_keys_cooling', 'wait'))).to.deep.equal({
      error: { message: 'wait', type: 'rate_limit_error', code: 'all_keys_cooling' },
    });
    expect(JSON.parse(OPENAI_DIALECT.upstreamError(429, MODELSCOPE_429, 'rate_limited').toString())).to.deep.equal({
      error: { message: 'Too many requests', type: 'rate_limit_error', code: 'rate_limited', request_id: 'r-1' },
    });
    expect(OPENAI_DIALECT.streamError(502, 'stream_interrupted', 'cut')).to.match(/^data: \{"error":/);
  });

  it('Anthropic: the same text as dialect/anthropic.ts writes, not a second way to write it', () => {
    expect(ANTHROPIC_DIALECT.errorBody(503, 'no_keys', 'none')).to.equal(anthropicErrorBody(503, 'none', 'no_keys'));
    expect(ANTHROPIC_DIALECT.upstreamError(429, MODELSCOPE_429, 'rate_limited')).to.deep.equal(
      toAnthropicErrorBody(429, MODELSCOPE_429, 'rate_limited'),
    );
    const event = ANTHROPIC_DIALECT.streamError(502, 'stream_interrupted', 'cut');
    expect(event).to.match(/^event: error\ndata: /);
    expect(JSON.parse(event.split('data: ')[1]).error).to.include({ message: 'cut', code: 'stream_interrupted' });
  });

  it('every request reads OpenAI’s shape until a rule picks another', () => {
    expect(dialectOf(undefined)).to.equal(OPENAI_DIALECT);
  });
});
