// Chat completions as ModelScope answers them: one JSON answer, or SSE chunks
// ending with a finish reason and `[DONE]`.
import type { ServerResponse } from 'node:http';
import { json, parseBody } from './bodies.js';
import { imitatedUsage } from './imitated-usage.js';
import { type Pacing, paceStream, type StreamFault } from './paced-stream.js';

const DEFAULT_MODEL = 'Qwen/Qwen2.5-7B-Instruct';

export function answerChat(res: ServerResponse, body: Buffer, headers: Record<string, string>, pacing: Pacing): void {
  const parsed = parseBody(body);
  if (!parsed) return json(res, 400, { error: { message: 'Body is not JSON.' } });
  const model = typeof parsed.model === 'string' ? parsed.model : DEFAULT_MODEL;
  if (parsed.stream) {
    // As OpenAI does: a usage chunk before [DONE] only when the client asks for it.
    const options = parsed.stream_options as { include_usage?: unknown } | undefined;
    return streamChat(res, model, headers, pacing, undefined, options?.include_usage === true ? body : undefined);
  }
  const content = 'Hello from the imitation.';
  json(
    res,
    200,
    {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage: imitatedUsage(body, content),
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
  usageOf?: Buffer,
): void {
  // With `usageOf` (the request body, when it asked `stream_options.include_usage`), every chunk carries
  // `usage: null` and a last chunk with `choices: []` and the usage comes before [DONE], as OpenAI sends them.
  const usageNull = usageOf ? { usage: null } : {};
  let text = '';
  const chunk = (delta: object, finishReason: string | null, extra: object = {}) => ({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    ...extra,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
    ...usageNull,
  });
  const usageChunk = () =>
    usageOf
      ? `data: ${JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion.chunk',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [],
          usage: imitatedUsage(usageOf, text),
        })}\n\n`
      : '';
  paceStream(
    res,
    headers,
    {
      // created_ms: when the chunk left the upstream, so a client can measure what each hop adds.
      piece: (index) => {
        const content = `chunk ${index} `;
        text += content;
        return `data: ${JSON.stringify(
          chunk({ content }, null, { created_ms: performance.timeOrigin + performance.now() }),
        )}\n\n`;
      },
      // Like ModelScope: a last chunk with the finish reason (SDKs read it), then [DONE].
      tail: () => `data: ${JSON.stringify(chunk({}, 'stop'))}\n\n${usageChunk()}data: [DONE]\n\n`,
    },
    pacing,
    fault,
  );
}
