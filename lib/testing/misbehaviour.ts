// How the imitation misbehaves, by the behaviour chosen for a key. Errors are
// ModelScope's own bodies on every path; a stream that breaks or stalls is a
// chat stream or an Anthropic one, as the path asks.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Behaviour } from './behaviours.js';
import { BALANCE_EXHAUSTED_BODY, json, LIMIT_BODY, modelOf, parseBody } from './bodies.js';
import { streamChat } from './chat.js';
import type { ReceivedRequest } from './fake-modelscope.js';
import { estimateInputTokens, isMessagesUrl, streamMessage } from './messages.js';
import { FAULTY_PACING, type StreamFault } from './paced-stream.js';

/** A stream that breaks or stalls after two pieces, in the dialect the path speaks. */
function faultyStream(request: ReceivedRequest, res: ServerResponse, fault: StreamFault): void {
  const model = modelOf(request.body) ?? 'm';
  if (isMessagesUrl(request.url)) {
    const inputTokens = estimateInputTokens(parseBody(request.body) ?? {});
    return streamMessage(res, model, inputTokens, {}, FAULTY_PACING, fault);
  }
  streamChat(res, model, {}, FAULTY_PACING, fault);
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
      return faultyStream(request, res, 'break');
    case 'stream-stall':
      return faultyStream(request, res, 'stall');
    case 'body-break':
    case 'error-body-break':
      res.writeHead(behaviour === 'body-break' ? 200 : 500, {
        'content-type': 'application/json',
        'content-length': '1000',
      });
      res.write(isMessagesUrl(request.url) ? '{"id":"msg_cut",' : '{"id":"chatcmpl-cut",');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
  }
}
