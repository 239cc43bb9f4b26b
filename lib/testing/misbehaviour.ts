// How the imitation misbehaves (by the behaviour chosen for a key), and how it
// streams an answer chunk by chunk as ModelScope does.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Behaviour } from './behaviours.js';
import type { ReceivedRequest } from './fake-modelscope.js';
import { imitatedUsage } from './imitated-usage.js';

/** ModelScope's answer to a used-up points balance (`QuotaLimitExceed`, as its hub API documents). */
export const BALANCE_EXHAUSTED_BODY = {
  errors: { code: 'QuotaLimitExceed', message: 'magicube balance exhausted', request_id: 'fake-request' },
};
/** ModelScope's 429 body, the same for a short rate limit and a used-up day. */
export const LIMIT_BODY = { errors: { message: 'Request limit exceeded.', request_id: 'fake-request' } };

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** How a stream ends. */
export interface StreamEnding {
  /** After two chunks, `break` resets the connection and `stall` goes silent. Defaults to ending normally. */
  failure?: 'break' | 'stall';
  /**
   * The request body, when the client asked `stream_options.include_usage`: every chunk then carries `usage: null`
   * and a last chunk with `choices: []` and the usage comes before `[DONE]`, as OpenAI sends them.
   */
  usageOf?: Buffer;
}

export function streamAnswer(
  res: ServerResponse,
  model: string,
  headers: Record<string, string>,
  chunks: number,
  intervalMs: number,
  { failure, usageOf }: StreamEnding = {},
): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sent = 0;
  let text = '';
  const created = () => Math.floor(Date.now() / 1000);
  const usageNull = usageOf ? { usage: null } : {};
  const event = (chunk: object) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', ...chunk })}\n\n`;
  const tick = (): void => {
    if (res.destroyed) return;
    if (failure && sent === 2) {
      if (failure === 'break') res.socket?.destroy();
      return;
    }
    if (sent === chunks) {
      // Like ModelScope: a last chunk with the finish reason (SDKs read it), then [DONE].
      let end = event({
        created: created(),
        model,
        choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        ...usageNull,
      });
      if (usageOf) end += event({ created: created(), model, choices: [], usage: imitatedUsage(usageOf, text) });
      res.end(`${end}data: [DONE]\n\n`);
      return;
    }
    // created_ms: when the chunk left the upstream, so a client can measure what each hop adds.
    const content = `chunk ${sent} `;
    text += content;
    res.write(
      event({
        created: created(),
        model,
        created_ms: performance.timeOrigin + performance.now(),
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
        ...usageNull,
      }),
    );
    sent++;
    setTimeout(tick, intervalMs);
  };
  tick();
}

export function misbehave(
  behaviour: Exclude<Behaviour, 'ok'>,
  request: ReceivedRequest,
  req: IncomingMessage,
  res: ServerResponse,
  counters = true,
): void {
  if (typeof behaviour === 'object') {
    if ('retryAfterSeconds' in behaviour)
      return json(res, 429, LIMIT_BODY, { 'retry-after': String(behaviour.retryAfterSeconds) });
    return json(
      res,
      behaviour.status,
      behaviour.body ?? { error: { message: `Imitated ${behaviour.status}.` } },
      behaviour.headers,
    );
  }
  switch (behaviour) {
    case 'unauthorized':
      return json(res, 401, { error: { message: 'Invalid API token.', type: 'authentication_error' } });
    case 'rate-limited':
      return json(res, 429, LIMIT_BODY);
    case 'quota-exhausted':
      if (!counters) return json(res, 429, LIMIT_BODY);
      return json(res, 429, LIMIT_BODY, {
        'modelscope-ratelimit-requests-limit': '2000',
        'modelscope-ratelimit-requests-remaining': '0',
      });
    case 'balance-exhausted':
      return json(res, 403, BALANCE_EXHAUSTED_BODY);
    case 'server-error':
      return json(res, 500, { error: { message: 'Internal server error.' } });
    case 'unavailable':
      return json(res, 503, { error: { message: 'Service unavailable.' } });
    case 'echo-token-error':
      return json(res, 400, { error: { message: `Bad request made with token ${request.key}.` } });
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      return;
    case 'stream-break':
      return streamAnswer(res, 'm', {}, 5, 10, { failure: 'break' });
    case 'stream-stall':
      return streamAnswer(res, 'm', {}, 5, 10, { failure: 'stall' });
    case 'body-break':
    case 'error-body-break':
      res.writeHead(behaviour === 'body-break' ? 200 : 500, {
        'content-type': 'application/json',
        'content-length': '1000',
      });
      res.write('{"id":"chatcmpl-cut",');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
  }
}
