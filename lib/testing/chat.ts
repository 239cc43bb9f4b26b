// Chat completions as ModelScope answers them: one JSON answer, or SSE chunks
// ending with a finish reason and `[DONE]`.
import type { ServerResponse } from 'node:http';
import { json, parseBody } from './bodies.js';
import { type Pacing, paceStream, type StreamFault } from './paced-stream.js';

const DEFAULT_MODEL = 'Qwen/Qwen2.5-7B-Instruct';

export function answerChat(res: ServerResponse, body: Buffer, headers: Record<string, string>, pacing: Pacing): void {
  const parsed = parseBody(body);
  if (!parsed) return json(res, 400, { error: { message: 'Body is not JSON.' } });
  const model = typeof parsed.model === 'string' ? parsed.model : DEFAULT_MODEL;
  if (parsed.stream) return streamChat(res, model, headers, pacing);
  json(
    res,
    200,
    {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello from the imitation.' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
    },
    headers,
  );
}

export function streamChat(
  res: ServerResponse,
  model: string,
  headers: Record<string, string>,
  pacing: Pacing,
  fault?: StreamFault,
): void {
  const chunk = (delta: object, finishReason: string | null, extra: object = {}) => ({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    ...extra,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
  paceStream(
    res,
    headers,
    {
      // created_ms: when the chunk left the upstream, so a client can measure what each hop adds.
      piece: (index) =>
        `data: ${JSON.stringify(
          chunk({ content: `chunk ${index} ` }, null, { created_ms: performance.timeOrigin + performance.now() }),
        )}\n\n`,
      // Like ModelScope: a last chunk with the finish reason (SDKs read it), then [DONE].
      tail: () => `data: ${JSON.stringify(chunk({}, 'stop'))}\n\ndata: [DONE]\n\n`,
    },
    pacing,
    fault,
  );
}
