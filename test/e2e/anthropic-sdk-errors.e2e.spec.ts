// What the real `@anthropic-ai/sdk` does with error answers: which it retries, how it reads Retry-After and
// x-should-retry, and what it makes of a body in Anthropic's shape or another. The balancer's Anthropic answers are
// built on these facts; an SDK upgrade that changes them fails here first.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { expect } from 'chai';
import { anthropicErrorBody, anthropicStreamErrorEvent, toAnthropicErrorBody } from '../../lib/dialect/anthropic.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, waitFor } from '../helpers.js';

const ASK = {
  model: 'Qwen/Qwen3-Coder-480B-A35B-Instruct',
  max_tokens: 64,
  messages: [{ role: 'user' as const, content: 'hi' }],
};
/** Retries come at once: the SDK takes `retry-after-ms` as it is. */
const AT_ONCE = { 'retry-after-ms': '1' };

type ApiError = InstanceType<typeof Anthropic.APIError>;

function client(fake: FakeModelScope, key: string, maxRetries = 0, signal?: AbortSignal) {
  const sdk = new Anthropic({ baseURL: fake.url, authToken: key, maxRetries, timeout: 10_000 });
  return () => sdk.messages.create(ASK, { signal });
}

async function failure(call: () => Promise<unknown>): Promise<ApiError> {
  try {
    await call();
  } catch (error) {
    expect(error).to.be.instanceOf(Anthropic.APIError);
    return error as ApiError;
  }
  throw new Error('expected the call to fail');
}

describe('what @anthropic-ai/sdk does with error answers', function () {
  this.timeout(10_000);
  let fake: FakeModelScope;
  beforeEach(async () => (fake = await startFakeModelScope()));
  afterEach(async () => fake.close());

  it('retries 408, 409, 429 and every 5xx by default; no other 4xx; and picks its error class by status', async () => {
    const table: Array<[number, boolean, string]> = [
      [400, false, 'BadRequestError'],
      [401, false, 'AuthenticationError'],
      [403, false, 'PermissionDeniedError'],
      [404, false, 'NotFoundError'],
      [408, true, 'RequestTimeoutError'],
      [409, true, 'ConflictError'],
      [413, false, 'ContentTooLargeError'],
      [422, false, 'UnprocessableEntityError'],
      [429, true, 'RateLimitError'],
      [500, true, 'InternalServerError'],
      [502, true, 'InternalServerError'],
      [503, true, 'ServiceUnavailableError'],
      [504, true, 'GatewayTimeoutError'],
      [529, true, 'OverloadedError'],
    ];
    const seen = await Promise.all(
      table.map(async ([status], n) => {
        const key = `key-${status}`;
        fake.behave(key, { status, body: JSON.parse(anthropicErrorBody(status, `no ${n}`)), headers: AT_ONCE });
        const err = await failure(client(fake, key, 1));
        return [status, fake.count(key, '/v1/messages') === 2, err.constructor.name];
      }),
    );
    expect(seen).to.deep.equal(table);
  });

  it('obeys x-should-retry: "false" on a 429 or 5xx and "true" on a 400', async () => {
    fake.behave(KEYS[0], { status: 429, headers: { 'x-should-retry': 'false', ...AT_ONCE } });
    fake.behave(KEYS[1], { status: 503, headers: { 'x-should-retry': 'false', ...AT_ONCE } });
    fake.behave(KEYS[2], { status: 400, headers: { 'x-should-retry': 'true', ...AT_ONCE } });
    await Promise.all(KEYS.map((key) => failure(client(fake, key, 2))));
    expect(KEYS.map((key) => fake.count(key, '/v1/messages'))).to.deep.equal([1, 1, 3]);
    const retries = fake.received.filter((r) => r.key === KEYS[2]).map((r) => r.headers['x-stainless-retry-count']);
    expect(retries).to.deep.equal(['0', '1', '2']);
  });

  it('waits as long as Retry-After says, even an hour (no cap), and retry-after-ms before it', async () => {
    // The SDK's own backoff before a first retry is at most 500 ms: a retry later than that was asked for.
    const hour = { 'retry-after': '3600' };
    fake
      .behave(KEYS[0], { status: 429, headers: hour })
      .behave(KEYS[1], (request) =>
        fake.count(KEYS[1], '/v1/messages') === 1 && request.path === '/v1/messages'
          ? { status: 429, headers: { ...hour, 'retry-after-ms': '600' } }
          : 'ok',
      );
    const abort = new AbortController();
    const waiting = failure(client(fake, KEYS[0], 2, abort.signal));
    const message = await client(fake, KEYS[1], 2)();
    expect(message.type).to.equal('message');
    const [first, second] = fake.received.filter((r) => r.key === KEYS[1]);
    expect(second.at - first.at).to.be.at.least(590); // 600 ms, less the timer clock's rounding
    const asked = fake.received.find((r) => r.key === KEYS[0]);
    await waitFor(() => asked !== undefined && performance.now() - asked.at > 600);
    expect(fake.count(KEYS[0], '/v1/messages')).to.equal(1);
    abort.abort();
    expect(await waiting).to.be.instanceOf(Anthropic.APIUserAbortError);
  });

  it('reads an Anthropic-shaped body: err.type and err.apiMessage; err.message is the status and the JSON', async () => {
    const body = { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down.', code: 'rate_limited' } };
    fake.behave(KEYS[0], { status: 429, body, headers: { 'request-id': 'req_1' } });
    const err = await failure(client(fake, KEYS[0]));
    expect(err).to.include({ type: 'rate_limit_error', apiMessage: 'Slow down.', requestID: 'req_1' });
    expect(err.message).to.equal(`429 ${JSON.stringify(body)}`);
    expect(err.error).to.deep.equal(body);
    // Our code in error.code is there for whoever reads the body, and ignored by the SDK.
    expect(err.errorCode).to.equal(null);
  });

  it('reads other JSON bodies as they are: no type, and the message only where it looks for one', async () => {
    fake
      .behave(KEYS[0], { status: 429, body: { errors: { message: 'Request limit exceeded.' } } })
      .behave(KEYS[1], {
        status: 401,
        body: { error: { message: 'Invalid API token.', type: 'authentication_error' } },
      })
      .behave(KEYS[2], { status: 400, body: { message: 'model not found' } });
    const [modelScope, openAi, bare] = await Promise.all(KEYS.map((key) => failure(client(fake, key))));
    expect(modelScope).to.include({ type: null, apiMessage: null });
    expect(modelScope.message).to.equal('429 {"errors":{"message":"Request limit exceeded."}}');
    expect(modelScope.error).to.deep.equal({ errors: { message: 'Request limit exceeded.' } });
    // No `type: "error"` needed: the SDK reads `error.type` and `error.message` wherever they are.
    expect(openAi).to.include({ type: 'authentication_error', apiMessage: 'Invalid API token.' });
    expect(bare).to.include({ message: '400 model not found', type: null, apiMessage: null });
  });

  it('reads a text body as its message (no err.error), and an empty one as "(no body)"', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/v1/messages' ? 502 : 503, { 'content-type': 'text/plain' });
      res.end(req.url === '/v1/messages' ? 'Bad Gateway' : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const sdk = new Anthropic({ baseURL, authToken: KEYS[0], maxRetries: 0 });
      const text = await failure(() => sdk.messages.create(ASK));
      expect(text).to.include({ message: '502 Bad Gateway', error: undefined });
      const empty = await failure(() => sdk.messages.countTokens({ model: ASK.model, messages: ASK.messages }));
      expect(empty.message).to.equal('503 status code (no body)');
    } finally {
      server.close();
    }
  });

  it("reads ModelScope's body once toAnthropicErrorBody has wrapped it: type, message and the class", async () => {
    const wrapped = toAnthropicErrorBody(429, Buffer.from('{"errors":{"message":"Request limit exceeded."}}'));
    fake.behave(KEYS[0], { status: 429, body: JSON.parse(wrapped.toString()) });
    const err = await failure(client(fake, KEYS[0]));
    expect(err).to.be.instanceOf(Anthropic.RateLimitError);
    expect(err).to.include({ type: 'rate_limit_error', apiMessage: 'Request limit exceeded.' });
  });

  it('throws an APIError with the type when a stream ends in anthropicStreamErrorEvent', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const message = { id: 'm', type: 'message', role: 'assistant', model: 'x', content: [], usage: {} };
      res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message })}\n\n`);
      res.end(anthropicStreamErrorEvent('The upstream stream was interrupted (reset); the answer is incomplete.'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const stream = new Anthropic({ baseURL, authToken: KEYS[0], maxRetries: 0 }).messages.stream(ASK);
      const err = await failure(() => stream.finalMessage());
      expect(err).to.include({ status: undefined, type: 'api_error' });
      expect(err.apiMessage).to.match(/interrupted/);
      expect(err.error).to.deep.nested.include({ 'error.code': 'stream_interrupted' });
    } finally {
      server.close();
    }
  });

  it("retries a stream's error answer like create's: messages.stream tries a 503 three times", async () => {
    fake.behave(KEYS[0], { status: 503, headers: AT_ONCE });
    const stream = new Anthropic({ baseURL: fake.url, authToken: KEYS[0], maxRetries: 2 }).messages.stream(ASK);
    expect(await failure(() => stream.finalMessage())).to.be.instanceOf(Anthropic.InternalServerError);
    expect(fake.count(KEYS[0], '/v1/messages')).to.equal(3);
  });
});
