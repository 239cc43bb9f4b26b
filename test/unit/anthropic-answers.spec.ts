// Issue 26: which requests get Anthropic's error dialect (dialectOf), and every code the balancer answers with
// written in it with its status's Anthropic type.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { expect } from 'chai';
import { ANTHROPIC_DIALECT } from '../../lib/answers/anthropic-dialect.js';
import { dialectOf } from '../../lib/answers/dialect.js';
import { BALANCER_ERROR_CODES, ERROR_STATUSES } from '../../lib/answers/error-codes.js';
import { OPENAI_DIALECT } from '../../lib/answers/openai-dialect.js';

function requestTo(url: string, headers: Record<string, string> = {}): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.url = url;
  req.headers = headers;
  return req;
}

/** The Anthropic type each of our codes is answered with, at the status it goes with. */
const TYPES: Record<string, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'invalid_request_error',
  413: 'request_too_large',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

/** A status for the codes that take the upstream's (or the one they replace). */
const SAMPLE: Record<string, number> = { '4xx': 422, '5xx': 500, any: 502 };

describe("Anthropic's error dialect for the balancer's own answers", () => {
  it('dialectOf: Anthropic on the Messages API paths and wherever anthropic-version is sent, OpenAI elsewhere', () => {
    const table: Array<[string, Record<string, string>, string]> = [
      ['/v1/messages', {}, 'anthropic'],
      ['/v1/messages?beta=true', {}, 'anthropic'],
      ['/v1/messages/count_tokens', {}, 'anthropic'],
      ['/v1/chat/completions', {}, 'openai'],
      ['/v1/models', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
      ['/x', { 'anthropic-version': '2023-06-01' }, 'anthropic'],
      ['/v1/messagesX', {}, 'openai'],
    ];
    expect(table.map(([url, headers]) => [url, headers, dialectOf(requestTo(url, headers)).name])).to.deep.equal(table);
    expect(dialectOf(undefined)).to.equal(OPENAI_DIALECT);
  });

  it("writes every balancer error code in Anthropic's shape, typed by its status", () => {
    for (const code of BALANCER_ERROR_CODES) {
      const given = ERROR_STATUSES[code];
      const status = typeof given === 'number' ? given : SAMPLE[given];
      const body = JSON.parse(ANTHROPIC_DIALECT.errorBody(status, code, `about ${code}`));
      expect(body, code).to.deep.equal({
        type: 'error',
        error: {
          type: TYPES[status],
          message: `about ${code}`,
          code,
        },
      });
    }
  });

  it("ends a broken stream with Anthropic's error event, and wraps upstream bodies of another shape", () => {
    const event = ANTHROPIC_DIALECT.streamError(502, 'stream_interrupted', 'cut');
    expect(event).to.equal(
      'event: error\ndata: ' +
        '{"type":"error","error":{"type":"api_error","message":"cut","code":"stream_interrupted"}}\n\n',
    );
    const wrapped = ANTHROPIC_DIALECT.upstreamError(
      429,
      Buffer.from('{"errors":{"message":"Slow down."}}'),
      'rate_limited',
    );
    expect(JSON.parse(wrapped.toString())).to.deep.equal({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Slow down.', code: 'rate_limited' },
    });
    const shaped = Buffer.from('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(ANTHROPIC_DIALECT.upstreamError(529, shaped, undefined)).to.equal(shaped);
  });
});
