import { expect } from 'chai';
import { KeyState, type KeyStatus } from '../../lib/pool/key-state.js';

const rules = { failureThreshold: 3, cooldownBaseMs: 1_000, cooldownMaxMs: 8_000, invalidKeyRetryMs: 60_000 };
const error = { status: 500 as const, reason: 'test', at: 0 };

describe('key state machine', () => {
  it('starts healthy and takes requests', () => {
    const state = new KeyState(rules);
    expect(state.status).to.equal('healthy');
    expect(state.canTake(0)).to.equal(true);
  });

  it('becomes unhealthy only after failureThreshold consecutive failures; a success resets the count', () => {
    const state = new KeyState(rules);
    expect(state.failed(0, error)).to.equal(null);
    expect(state.failed(0, error)).to.equal(null);
    state.succeeded(0);
    expect(state.consecutiveFailures).to.equal(0);
    state.failed(0, error);
    state.failed(0, error);
    expect(state.failed(0, error)).to.deep.equal({ from: 'healthy', to: 'unhealthy', reason: 'failures' });
    expect(state.canTake(1)).to.equal(false);
  });

  it('cools down on 429, doubling up to the maximum, and a success resets the doubling', () => {
    const state = new KeyState(rules);
    const cooldowns: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      state.rateLimited(now, undefined, false, error);
      cooldowns.push(state.until - now);
      now = state.until;
      expect(state.canTake(now - 1)).to.equal(false);
      expect(state.canTake(now)).to.equal(true);
      expect(state.refresh(now)?.to).to.equal('healthy');
    }
    expect(cooldowns).to.deep.equal([1000, 2000, 4000, 8000, 8000, 8000]);
    state.succeeded(0);
    state.rateLimited(now, undefined, false, error);
    expect(state.until - now).to.equal(1000);
  });

  it('cools for exactly Retry-After when given', () => {
    const state = new KeyState(rules);
    state.rateLimited(100, 4_200, false, error);
    expect(state.until).to.equal(4_300);
  });

  it('never cools longer than cooldownMaxMs, whatever Retry-After says (a year, 1e13 s, or nonsense)', () => {
    for (const retryAfterMs of [31_536_000_000, 1e16, Infinity, -5]) {
      const state = new KeyState(rules);
      state.rateLimited(100, retryAfterMs, false, error);
      expect(state.until).to.be.within(100, 100 + rules.cooldownMaxMs);
      expect(() => new Date(state.until).toISOString()).not.to.throw();
    }
  });

  it('does not escalate cooldowns while the whole pool is throttled', () => {
    const state = new KeyState(rules);
    for (let i = 0; i < 4; i++) state.rateLimited(i * 10_000, undefined, true, error);
    expect(state.until - 30_000).to.equal(1000);
    expect(state.cooldownStreak).to.equal(0);
  });

  it('marks a refused token invalid, with one trial request after invalidKeyRetryMs', () => {
    const state = new KeyState(rules);
    expect(state.refused(0, error)?.to).to.equal('invalid');
    expect(state.canTake(59_999)).to.equal(false);
    expect(state.canTake(60_000)).to.equal(true);
    expect(state.begin(60_000)).to.equal(true);
    expect(state.canTake(60_000)).to.equal(false);
    state.end(true);
    expect(state.succeeded(0)?.to).to.equal('healthy');
  });

  it('lets only the trial itself free the next trial', () => {
    const state = new KeyState(rules);
    expect(state.begin(0)).to.equal(false);
    state.failed(0, error);
    state.failed(0, error);
    state.failed(0, error);
    expect(state.status).to.equal('unhealthy');
    const later = state.until;
    expect(state.begin(later)).to.equal(true);
    state.end(false);
    expect(state.canTake(later)).to.equal(false);
    state.end(true);
    expect(state.canTake(later)).to.equal(true);
  });

  it('waits the full period again after an inconclusive trial of an invalid key', () => {
    const state = new KeyState(rules);
    state.refused(0, error);
    state.begin(60_000);
    state.failed(60_000, error);
    state.end(true);
    expect(state.status).to.equal('invalid');
    expect(state.canTake(60_001)).to.equal(false);
    expect(state.canTake(120_000)).to.equal(true);
  });

  it("takes a 429 on an invalid key's trial as proof the token works: cooling, not invalid", () => {
    const state = new KeyState(rules);
    state.refused(0, error);
    expect(state.rateLimited(60_000, 2_000, false, error)).to.deep.equal({
      from: 'invalid',
      to: 'cooling',
      reason: 'rate_limited',
    });
    expect(state.until).to.equal(62_000);
  });

  it("keeps an invalid key's trial time when a probe fails", () => {
    const state = new KeyState(rules);
    state.refused(0, error);
    state.probed(10, 'failed', error);
    expect(state.status).to.equal('invalid');
    expect(state.until).to.equal(60_000);
  });

  const probes: Array<[KeyStatus, 'ok' | 'failed' | 'refused', KeyStatus]> = [
    ['healthy', 'failed', 'unhealthy'],
    ['healthy', 'refused', 'invalid'],
    ['unhealthy', 'ok', 'healthy'],
    ['invalid', 'ok', 'invalid'],
    ['cooling', 'ok', 'cooling'],
  ];
  for (const [from, outcome, to] of probes) {
    it(`a probe that is ${outcome} takes a ${from} key to ${to}`, () => {
      const state = new KeyState(rules);
      if (from === 'unhealthy') state.probed(0, 'failed');
      if (from === 'invalid') state.refused(0, error);
      if (from === 'cooling') state.rateLimited(0, 5_000, false, error);
      expect(state.status).to.equal(from);
      state.probed(1, outcome, error);
      expect(state.status).to.equal(to);
    });
  }
});
