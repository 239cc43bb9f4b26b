import { KeyScrubber } from '../lib/upstream/scrub.js';
import { benchKeys } from './servers/common.js';

/** Nanoseconds per byte to scrub an SSE body chunk by chunk (no key in it: the common case), for `size` keys. */
export function scrubCost(size: number, rounds = 2_000): number {
  const scrubber = new KeyScrubber(benchKeys(size));
  const chunk = {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { content: 'Hello there, how are you doing today?' } }],
  };
  const event = Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`);
  for (let i = 0; i < 200; i++) scrubber.stream().push(event);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const stream = scrubber.stream();
    for (let j = 0; j < 20; j++) stream.push(event);
    stream.end();
  }
  return Number(process.hrtime.bigint() - started) / (rounds * 20 * event.length);
}
