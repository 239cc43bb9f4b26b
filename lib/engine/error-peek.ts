// A 403 or 429 is judged by its body as well as its status: "balance
// exhausted" is not "forbidden", and a used-up allowance is not a short rate
// limit. Such bodies are small and come with the headers, so the body is read
// before the verdict, bounded in size and time; what was read is relayed (or
// dropped) later exactly as if it had not been. Successes and streams never
// come here.
import type { IncomingMessage } from 'node:http';
import type { UpstreamAttempt } from '../upstream/upstream-attempt.js';

/** Statuses whose body is read before the verdict. */
export const PEEKED_STATUSES: ReadonlySet<number> = new Set([403, 429]);

/** A body larger than this is judged by status and headers alone (and relayed as usual). */
const PEEK_MAX_BYTES = 64 * 1024;
/** A body that takes longer than this is judged by status and headers alone: failover does not wait for a trickle. */
const PEEK_MAX_MS = 500;

export interface PeekedBody {
  /** whole: the body ended; partial: read so far, the rest still to come; broken: it broke off. */
  state: 'whole' | 'partial' | 'broken';
  chunks: Buffer[];
  bytes: number;
  /** When reading began (performance.now()): a relay's deadline for the whole body counts from here. */
  startedAt: number;
}

/** Reads the start of an error answer: all of it when small and prompt, else what came in time (then paused). */
export function peekErrorBody(response: IncomingMessage, attempt: UpstreamAttempt): Promise<PeekedBody> {
  const peeked: PeekedBody = { state: 'partial', chunks: [], bytes: 0, startedAt: performance.now() };
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (state: PeekedBody['state']): void => {
      clearTimeout(timer);
      response.off('data', onData).off('end', onEnd).off('error', onBroken).off('close', onClose);
      if (state === 'partial') response.pause();
      peeked.state = state;
      resolve(peeked);
    };
    const onData = (chunk: Buffer): void => {
      attempt.touched();
      peeked.chunks.push(chunk);
      peeked.bytes += chunk.length;
      if (peeked.bytes > PEEK_MAX_BYTES) settle('partial');
    };
    const onEnd = (): void => settle('whole');
    const onBroken = (): void => settle('broken');
    const onClose = (): void => {
      if (!response.complete) settle('broken');
    };
    response.on('data', onData).once('end', onEnd).once('error', onBroken).once('close', onClose);
    timer = setTimeout(() => settle('partial'), PEEK_MAX_MS);
  });
}
