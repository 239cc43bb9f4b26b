import { pathToFileURL } from 'node:url';
import { type AnswerFormat, UsageTap } from '../lib/upstream/usage-tap.js';

const CHUNK_BYTES = 64 * 1024;

/** A typical streamed answer as ModelScope writes it, one event a chunk: 20 content chunks (`usage: null`, as with
 * `stream_options.include_usage`), the finish chunk, the usage chunk and [DONE]. */
function sseAnswer(): Buffer[] {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1767225600, model: 'Qwen/Qwen3-32B' };
  const events = Array.from({ length: 20 }, (_, i) => ({
    ...base,
    choices: [{ index: 0, delta: { content: `Hello there, how are you doing today? (${i})` }, finish_reason: null }],
    usage: null,
  }));
  events.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] as never, usage: null });
  events.push({
    ...base,
    choices: [],
    usage: { prompt_tokens: 120, completion_tokens: 200, total_tokens: 320 } as never,
  });
  return [...events.map((event) => Buffer.from(`data: ${JSON.stringify(event)}\n\n`)), Buffer.from('data: [DONE]\n\n')];
}

/** A JSON answer of about `bytes` bytes, in socket-sized chunks: a long chat completion (prose and code, so quotes and
 * newlines are escaped), or an embeddings list (numbers only, the tap's slowest case: every byte is looked at). */
function jsonAnswer(bytes: number, kind: 'chat' | 'embeddings'): Buffer[] {
  const usage = { prompt_tokens: 120, completion_tokens: 250_000, total_tokens: 250_120 };
  let body: string;
  if (kind === 'chat') {
    const line = 'The function returns "ok" when done:\n  if (x > 0) { return "ok"; }\n';
    const content = line.repeat(Math.ceil(bytes / (line.length + 8)));
    body = JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'Qwen/Qwen3-Coder-480B-A35B-Instruct',
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      usage,
    });
  } else {
    const vector = Array.from({ length: 1024 }, (_, i) => Math.sin(i) / 7);
    const count = Math.ceil(bytes / JSON.stringify(vector).length);
    const data = Array.from({ length: count }, (_, index) => ({ object: 'embedding', index, embedding: vector }));
    body = JSON.stringify({ object: 'list', data, model: 'Qwen/Qwen3-Embedding-8B', usage });
  }
  const raw = Buffer.from(body);
  return Array.from({ length: Math.ceil(raw.length / CHUNK_BYTES) }, (_, i) =>
    raw.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
  );
}

/** Nanoseconds per byte for a tap to read `chunks` (told the format, as the relay will be by the content type). */
function nsPerByte(chunks: Buffer[], format: AnswerFormat, rounds: number): number {
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const run = () => {
    const tap = new UsageTap({ format });
    for (const chunk of chunks) tap.push(chunk);
    tap.end();
    if (!tap.usage()) throw new Error(`the ${format} bench answer's usage was not read`);
  };
  for (let i = 0; i < Math.max(10, rounds / 10); i++) run();
  return fastestBatch(run, rounds) / bytes;
}

/** What reading usage costs per byte relayed: a 20-chunk SSE answer, and 1 MB JSON answers. */
export function usageTapCost(): { sse: number; json1MB: number; jsonNumbers1MB: number } {
  return {
    sse: nsPerByte(sseAnswer(), 'sse', 5_000),
    json1MB: nsPerByte(jsonAnswer(1_000_000, 'chat'), 'json', 100),
    jsonNumbers1MB: nsPerByte(jsonAnswer(1_000_000, 'embeddings'), 'json', 30),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cost = usageTapCost();
  console.log(
    `Reading token usage: ${cost.sse.toFixed(2)} ns/byte (20-chunk SSE answer), ${cost.json1MB.toFixed(2)} ns/byte ` +
      `(1 MB JSON chat answer), ${cost.jsonNumbers1MB.toFixed(2)} ns/byte (1 MB of embeddings)`,
  );
}

/**
 * Nanoseconds per call of `run`, from the fastest of seven batches of `calls / 7`: on a shared machine a batch is
 * slowed by whatever else runs, never sped up, so the fastest is the closest to the cost itself.
 */
export function fastestBatch(run: () => void, calls: number): number {
  const batch = Math.max(1, Math.round(calls / 7));
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 7; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) run();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / batch);
  }
  return fastest;
}
