import { expect } from 'chai';
import {
  anthropicErrorBody,
  anthropicErrorType,
  anthropicStreamErrorEvent,
  isAnthropicRequest,
  toAnthropicErrorBody,
} from '../../lib/dialect/anthropic.js';
import { MAX_MESSAGE } from '../../lib/dialect/error-reading.js';

const wrap = (status: number, body: string | object, code?: Parameters<typeof toAnthropicErrorBody>[2]) =>
  JSON.parse(
    toAnthropicErrorBody(status, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), code).toString(),
  );

describe("Anthropic's dialect", () => {
  describe('isAnthropicRequest', () => {
    const table: Array<[string, Record<string, string>, boolean]> = [
      ['/v1/messages', {}, true],
      ['/v1/messages?beta=true', {}, true],
      ['/v1/messages/count_tokens', {}, true],
      ['/v1/messages/count_tokens?beta=true', {}, true],
      ['/v1/messagesX', {}, false],
      ['/v1/messages/other', {}, false],
      ['/v1/messages/count_tokensX', {}, false],
      ['/gw/v1/messages', {}, false],
      ['/v1/chat/completions', {}, false],
      ['/v1/chat/completions?x=/v1/messages', {}, false],
      ['/v1/chat/completions', { 'anthropic-version': '2023-06-01' }, true],
      ['/v1/models', { 'anthropic-version': '' }, true],
      ['/v1/models', { 'anthropic-beta': 'x' }, false],
    ];
    for (const [path, headers, expected] of table) {
      it(`${path} ${JSON.stringify(headers)} → ${expected}`, () => {
        expect(isAnthropicRequest(path, headers)).to.equal(expected);
      });
    }
  });

  it('anthropicErrorType maps each status as Anthropic documents it', () => {
    const table: Array<[number, string]> = [
      [400, 'invalid_request_error'],
      [401, 'authentication_error'],
      [402, 'billing_error'],
      [403, 'permission_error'],
      [404, 'not_found_error'],
      [405, 'invalid_request_error'],
      [409, 'invalid_request_error'],
      [413, 'request_too_large'],
      [422, 'invalid_request_error'],
      [429, 'rate_limit_error'],
      [500, 'api_error'],
      [501, 'api_error'],
      [502, 'api_error'],
      [503, 'overloaded_error'],
      [504, 'timeout_error'],
      [529, 'overloaded_error'],
      [599, 'api_error'],
    ];
    expect(table.map(([status]) => [status, anthropicErrorType(status)])).to.deep.equal(table);
  });

  it("anthropicErrorBody writes the balancer's own errors with our code in error.code", () => {
    expect(JSON.parse(anthropicErrorBody(429, 'Every key is cooling down.', 'all_keys_cooling'))).to.deep.equal({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Every key is cooling down.', code: 'all_keys_cooling' },
    });
    expect(JSON.parse(anthropicErrorBody(401, 'Wrong token.'))).to.deep.equal({
      type: 'error',
      error: { type: 'authentication_error', message: 'Wrong token.' },
    });
  });

  it('anthropicStreamErrorEvent is an SSE error event an Anthropic SDK throws on', () => {
    const event = anthropicStreamErrorEvent('The upstream stream was interrupted.');
    expect(event).to.match(/^event: error\ndata: .+\n\n$/);
    expect(JSON.parse(event.split('data: ')[1])).to.deep.equal({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream stream was interrupted.', code: 'stream_interrupted' },
    });
  });

  describe('toAnthropicErrorBody', () => {
    it('passes an Anthropic-shaped body unchanged (the same Buffer)', () => {
      const body = Buffer.from(
        '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}',
      );
      expect(toAnthropicErrorBody(529, body)).to.equal(body);
      expect(toAnthropicErrorBody(429, body, 'rate_limited')).to.equal(body);
    });

    it("wraps ModelScope's {errors} body, keeping its message, request id and code", () => {
      expect(wrap(429, { errors: { message: 'Request limit exceeded.', request_id: 'ms-req-1' } })).to.deep.equal({
        type: 'error',
        error: { type: 'rate_limit_error', message: 'Request limit exceeded.', code: 'upstream_rejected' },
        request_id: 'ms-req-1',
      });
      const balance = { errors: { code: 'QuotaLimitExceed', message: 'magicube balance exhausted', request_id: 'r' } };
      expect(wrap(403, balance).error).to.deep.equal({
        type: 'permission_error',
        message: 'magicube balance exhausted',
        code: 'QuotaLimitExceed',
      });
      expect(wrap(429, balance, 'daily_quota_exhausted').error.code).to.equal('daily_quota_exhausted');
    });

    it("wraps OpenAI's {error} body, keeping its message and code", () => {
      const body = { error: { message: 'Invalid API token.', type: 'authentication_error', code: 'invalid_api_key' } };
      expect(wrap(401, body)).to.deep.equal({
        type: 'error',
        error: { type: 'authentication_error', message: 'Invalid API token.', code: 'invalid_api_key' },
      });
      expect(wrap(500, { error: { message: 'boom', code: 42 } }).error.code).to.equal('42');
      expect(wrap(500, { error: { message: 'boom' }, request_id: 'r-9' })).to.deep.include({ request_id: 'r-9' });
      expect(wrap(503, { error: { message: 'Service unavailable.' } }).error).to.deep.equal({
        type: 'overloaded_error',
        message: 'Service unavailable.',
        code: 'upstream_error',
      });
    });

    it('wraps a bare {message} body, text, an HTML page and an empty body', () => {
      expect(wrap(400, { message: 'model not found', code: 'NotFound' }).error).to.deep.equal({
        type: 'invalid_request_error',
        message: 'model not found',
        code: 'NotFound',
      });
      expect(wrap(502, 'Bad Gateway').error.message).to.equal('Bad Gateway');
      const html = '<html><head><title>504 Gateway Time-out</title></head><body><h1>504</h1></body></html>';
      expect(wrap(504, html).error).to.deep.equal({
        type: 'timeout_error',
        message: '504 Gateway Time-out 504',
        code: 'upstream_error',
      });
      expect(wrap(500, '').error.message).to.equal('The upstream answered 500.');
    });

    it('keeps all of a JSON body of an unknown shape as the message, cut to its limit', () => {
      expect(wrap(422, { detail: 'Not Found' }).error.message).to.equal('{"detail":"Not Found"}');
      expect(wrap(400, { type: 'error', error: 'flat' }).error.message).to.equal('flat');
      expect(wrap(500, { detail: 'x'.repeat(5000) }).error.message).to.have.length(MAX_MESSAGE);
      expect(wrap(500, 'y'.repeat(5000)).error.message).to.have.length(MAX_MESSAGE);
    });
  });
});
