// Anthropic's Messages API as ModelScope serves it (in beta, for the
// `anthropic` SDKs and Claude Code): a `message` object, or SSE events from
// `message_start` to `message_stop`; and token counting. Input tokens are
// estimated the same way for both, so a test can compare them.
import type { ServerResponse } from 'node:http';
import { json, parseBody } from './bodies.js';
import { type Pacing, paceStream, type StreamFault } from './paced-stream.js';

export const MESSAGES_PATH = '/v1/messages';
export const COUNT_TOKENS_PATH = '/v1/messages/count_tokens';

/** Whether a request URL (a query string allowed) is `POST /v1/messages`'s. */
export function isMessagesUrl(url: string): boolean {
  return url.split('?')[0] === MESSAGES_PATH;
}

const DEFAULT_MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const TEXT = 'Hello from the imitation.';
/** Output tokens of the non-streamed answer (a streamed one has one per delta). */
const TEXT_TOKENS = 5;

/** About four characters a token, over what the model reads: the system prompt, the messages and the tools. */
export function estimateInputTokens(request: Record<string, unknown>): number {
  const read = JSON.stringify([request.system ?? '', request.messages ?? [], request.tools ?? []]);
  return Math.max(1, Math.ceil(read.length / 4));
}

function event(name: string, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
}

/** `POST /v1/messages/count_tokens`: `{"input_tokens": n}`. */
export function answerCountTokens(res: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  const parsed = parseBody(body);
  if (!parsed) return json(res, 400, { error: { message: 'Body is not JSON.' } });
  json(res, 200, { input_tokens: estimateInputTokens(parsed) }, headers);
}

/** `POST /v1/messages`: a `message` object, or its SSE events when the body asks `"stream": true`. */
export function answerMessages(
  res: ServerResponse,
  body: Buffer,
  headers: Record<string, string>,
  pacing: Pacing,
): void {
  const parsed = parseBody(body);
  if (!parsed) return json(res, 400, { error: { message: 'Body is not JSON.' } });
  const model = typeof parsed.model === 'string' ? parsed.model : DEFAULT_MODEL;
  const inputTokens = estimateInputTokens(parsed);
  if (parsed.stream) return streamMessage(res, model, inputTokens, headers, pacing);
  json(
    res,
    200,
    {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: TEXT }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: inputTokens, output_tokens: TEXT_TOKENS },
    },
    headers,
  );
}

/**
 * Anthropic's event sequence: `message_start` (with the input tokens), `content_block_start` and a `ping` at once;
 * one paced `content_block_delta` per chunk (`chunk 0 chunk 1 …`); then `content_block_stop`, `message_delta` (the
 * stop reason and the output tokens) and `message_stop`. A fault cuts it after two deltas.
 */
export function streamMessage(
  res: ServerResponse,
  model: string,
  inputTokens: number,
  headers: Record<string, string>,
  pacing: Pacing,
  fault?: StreamFault,
): void {
  const message = {
    id: 'msg_fake',
    type: 'message',
    role: 'assistant',
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: inputTokens, output_tokens: 1 },
  };
  paceStream(
    res,
    headers,
    {
      head:
        event('message_start', { message }) +
        event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }) +
        event('ping', {}),
      piece: (index) =>
        event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `chunk ${index} ` } }),
      tail: () =>
        event('content_block_stop', { index: 0 }) +
        event('message_delta', {
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: pacing.chunks },
        }) +
        event('message_stop', {}),
    },
    pacing,
    fault,
  );
}
