import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { peekErrorBody } from '../../lib/engine/error-peek.js';
import type { UpstreamAttempt } from '../../lib/upstream/upstream-attempt.js';

/** An upstream answer's body as a stream, with the `complete` flag Node sets once it ended. */
function answer(): PassThrough & { complete: boolean } {
  const body = new PassThrough() as PassThrough & { complete: boolean };
  body.complete = false;
  body.once('end', () => {
    body.complete = true;
  });
  return body;
}

const attempt = { touched() {} } as unknown as UpstreamAttempt;

describe('reading the body of a 403 or 429 before the verdict', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  it('has the whole of a small body that comes at once', async () => {
    const body = answer();
    const peeked = peekErrorBody(body as unknown as IncomingMessage, attempt);
    body.end('{"errors":{"message":"magicube balance exhausted"}}');
    const result = await peeked;
    expect(result.state).to.equal('whole');
    expect(Buffer.concat(result.chunks).toString()).to.include('magicube');
  });

  it('stops waiting for a trickle after half a second, keeping what came, the rest paused for the relay', async () => {
    const body = answer();
    const peeked = peekErrorBody(body as unknown as IncomingMessage, attempt);
    body.write('{"errors":');
    await clock.tickAsync(499);
    body.write('{"message"');
    await clock.tickAsync(1);
    const result = await peeked;
    expect(result.state).to.equal('partial');
    expect(result.bytes).to.equal(20);
    expect(body.isPaused()).to.equal(true);
    expect(body.listenerCount('data')).to.equal(0);
  });

  it('stops at 64 KiB: a body that large is judged by its status alone', async () => {
    const body = answer();
    const peeked = peekErrorBody(body as unknown as IncomingMessage, attempt);
    body.write(Buffer.alloc(70 * 1024, 'x'));
    const result = await peeked;
    expect(result.state).to.equal('partial');
    expect(clock.countTimers()).to.equal(0);
  });

  it('says when the body broke off', async () => {
    const body = answer();
    const peeked = peekErrorBody(body as unknown as IncomingMessage, attempt);
    body.write('{"err');
    body.destroy();
    expect((await peeked).state).to.equal('broken');
  });
});
