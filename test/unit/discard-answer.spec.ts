import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { type AttemptOutcome, discardAnswer } from '../../lib/engine/chosen-answer.js';
import type { KeyLease } from '../../lib/engine/key-lease.js';
import type { UpstreamAttempt } from '../../lib/upstream/upstream-attempt.js';

/** An outcome whose answer was read in part (a peeked error body) and whose connection is `destroyed` or open. */
function heldAnswer(destroyed: boolean): { outcome: AttemptOutcome; released: () => number; response: PassThrough } {
  let releases = 0;
  const lease = { entry: {}, trial: false, release: () => releases++ } as unknown as KeyLease;
  const response = new PassThrough();
  response.pause();
  if (destroyed) response.destroy();
  const attempt = { abort: () => response.destroy() } as unknown as UpstreamAttempt;
  const outcome = {
    lease,
    attempt,
    startedAt: 0,
    response: response as unknown as IncomingMessage,
    peeked: { state: 'partial', chunks: [], bytes: 0, startedAt: 0 },
  } as unknown as AttemptOutcome;
  return { outcome, released: () => releases, response };
}

describe('discardAnswer: an answer held for a failover and then dropped', () => {
  it('releases the key at once when the connection closed while the answer was held', async () => {
    const { outcome, released } = heldAnswer(true);
    await new Promise((resolve) => setImmediate(resolve));
    discardAnswer(outcome);
    expect(released()).to.equal(1);
  });

  it('reads out the rest of an open answer and releases the key when it closes', async () => {
    const { outcome, released, response } = heldAnswer(false);
    discardAnswer(outcome);
    expect(released()).to.equal(0);
    response.end('rest of the body');
    await new Promise((resolve) => response.once('close', resolve));
    expect(released()).to.equal(1);
  });
});
