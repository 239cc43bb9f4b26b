// An SSE answer written piece by piece at a steady pace, as ModelScope streams
// (chat chunks, or Anthropic's events), and the faults a stream can have.
import type { ServerResponse } from 'node:http';

/** How an SSE answer is paced. */
export interface Pacing {
  /** Paced pieces (chunks, deltas). */
  chunks: number;
  /** Milliseconds between pieces. */
  intervalMs: number;
}

/** What happens after a stream's second piece: `break` resets the connection, `stall` goes silent. */
export type StreamFault = 'break' | 'stall';

/** What one streamed answer is made of. */
export interface StreamPieces {
  /** Written at once with the headers (Anthropic's `message_start` …). */
  head?: string;
  /** The paced piece at `index`. */
  piece(index: number): string;
  /** Written after the last piece; the answer ends with it. */
  tail(): string;
}

/** The pace of the streams a misbehaving key sends. */
export const FAULTY_PACING: Pacing = { chunks: 5, intervalMs: 10 };

export function paceStream(
  res: ServerResponse,
  headers: Record<string, string>,
  pieces: StreamPieces,
  pacing: Pacing,
  fault?: StreamFault,
): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (pieces.head) res.write(pieces.head);
  let sent = 0;
  const tick = (): void => {
    if (res.destroyed) return;
    if (fault && sent === 2) {
      if (fault === 'break') res.socket?.destroy();
      return;
    }
    if (sent === pacing.chunks) {
      res.end(pieces.tail());
      return;
    }
    res.write(pieces.piece(sent));
    sent++;
    setTimeout(tick, pacing.intervalMs);
  };
  tick();
}
