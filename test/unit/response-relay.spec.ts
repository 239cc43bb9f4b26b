import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { cutIfStalled } from '../../lib/engine/response-relay.js';

/** The parts of a response the end-of-answer cut-off uses: its events, whether it finished, and destroy(). */
class ResponseStub extends EventEmitter {
  writableFinished = false;
  destroyed = false;
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function stalledAnswer(finished = false): ResponseStub & ServerResponse {
  const res = new ResponseStub();
  res.writableFinished = finished;
  return res as ResponseStub & ServerResponse;
}

describe('the end-of-answer cut-off for a client that stops reading', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = install({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => clock.uninstall());

  it('cuts a client that reads nothing of the rest of the answer for the limit', () => {
    const res = stalledAnswer();
    cutIfStalled(res, 1_000);
    clock.tick(999);
    expect(res.destroyed).to.equal(false);
    clock.tick(1);
    expect(res.destroyed).to.equal(true);
  });

  it('starts the limit again each time the client drains what was written', () => {
    const res = stalledAnswer();
    cutIfStalled(res, 1_000);
    clock.tick(900);
    res.emit('drain');
    clock.tick(900);
    expect(res.destroyed).to.equal(false);
    clock.tick(100);
    expect(res.destroyed).to.equal(true);
  });

  it('leaves alone a client that read everything, and forgets it once the answer finished', () => {
    const res = stalledAnswer();
    cutIfStalled(res, 1_000);
    res.emit('finish');
    clock.tick(5_000);
    expect(res.destroyed).to.equal(false);
    expect(res.listenerCount('drain')).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
  });

  it('arms nothing when the answer was already handed over whole', () => {
    const res = stalledAnswer(true);
    cutIfStalled(res, 1_000);
    expect(clock.countTimers()).to.equal(0);
    expect(res.listenerCount('drain')).to.equal(0);
  });
});
