import { pathToFileURL } from 'node:url';
import { readModel, rewriteModel } from '../lib/upstream/request-model.js';
import { fastestBatch } from './usage-tap-cost.js';

/** A chat body as clients send it, `model` after the messages (as the OpenAI SDK orders it), of about 2 KB. */
function chatBody(): Buffer {
  const turn = { role: 'user', content: 'Explain this code:\n```js\nconst s = "hi";\n```\nThanks! 你好 ' };
  return Buffer.from(
    JSON.stringify({
      messages: Array.from({ length: 20 }, () => turn),
      model: 'Qwen/Qwen3-Coder-480B-A35B-Instruct',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.7,
    }),
  );
}

/** A vision request with a 1 MB image as a base64 data URL: most large bodies are this. */
function imageBody(): Buffer {
  const image = Buffer.alloc(750_000, 'bench image bytes ').toString('base64');
  const content = [
    { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } },
    { type: 'text', text: 'What is in this picture?' },
  ];
  return Buffer.from(JSON.stringify({ messages: [{ role: 'user', content }], model: 'Qwen/Qwen2.5-VL-72B-Instruct' }));
}

/** Nanoseconds per byte of body for `work`. */
function nsPerByte(body: Buffer, work: (body: Buffer) => unknown, rounds: number): number {
  const run = () => {
    if (work(body) === undefined) throw new Error('the bench body has no model');
  };
  for (let i = 0; i < Math.max(10, rounds / 10); i++) run();
  return fastestBatch(run, rounds) / body.length;
}

/** What reading (for an allowlist) and replacing (for a route) the model costs: a 2 KB chat body, a 1 MB image. */
export function requestModelCost(): {
  read2KB: number;
  read1MBImage: number;
  rewrite2KB: number;
  jsonParse2KB: number;
} {
  const small = chatBody();
  return {
    read2KB: nsPerByte(small, readModel, 20_000),
    read1MBImage: nsPerByte(imageBody(), readModel, 100),
    rewrite2KB: nsPerByte(small, (body) => rewriteModel(body, 'Qwen/Qwen3-Coder-30B-A3B-Instruct'), 20_000),
    // For comparison: what reading it with JSON.parse would cost.
    jsonParse2KB: nsPerByte(small, (body) => JSON.parse(body.toString('utf8')).model, 20_000),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const cost = requestModelCost();
  console.log(
    `Request model: read ${cost.read2KB.toFixed(2)} ns/byte (2 KB chat body), ${cost.read1MBImage.toFixed(2)} ns/byte (1 MB image); ` +
      `rewrite ${cost.rewrite2KB.toFixed(2)} ns/byte (2 KB); JSON.parse for comparison ${cost.jsonParse2KB.toFixed(2)} ns/byte`,
  );
}
