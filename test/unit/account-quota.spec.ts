import { expect } from 'chai';
import { AccountQuota } from '../../lib/pool/account-quota.js';

const RESET = 86_400_000;
const TRIAL = 1_800_000;

describe("what is known of an account's allowance without counters", () => {
  it('infers exhaustion from 429s in a row, each after the cooldown of the one before, until the reset', () => {
    const account = new AccountQuota();
    expect(account.strike(0, 5_000, 3, RESET, TRIAL)).to.equal(true);
    // Within the cooldown of the first: the same burst, not counted.
    expect(account.strike(1_000, 6_000, 3, RESET, TRIAL)).to.equal(false);
    expect(account.strike(5_000, 15_000, 3, RESET, TRIAL)).to.equal(true);
    expect(account.exhaustedUntil(5_000)).to.equal(0);
    account.strike(15_000, 35_000, 3, RESET, TRIAL);
    expect(account.exhaustedUntil(15_000)).to.equal(RESET);
    expect(account.exhaustionView(15_000)).to.deep.equal({
      source: 'inferred',
      since: 15_000,
      until: RESET,
      nextTrialAt: 15_000 + TRIAL,
    });
    expect(account.trialDue(15_000 + TRIAL - 1)).to.equal(false);
    expect(account.trialDue(15_000 + TRIAL)).to.equal(true);
    account.startTrial(15_000 + TRIAL, TRIAL);
    expect(account.trialDue(15_000 + TRIAL)).to.equal(false);
    // The reset ends it, and the count starts over.
    expect(account.exhaustedUntil(RESET)).to.equal(0);
    expect(account.strikesNow(RESET)).to.equal(0);
  });

  it('is put back by any success, which also starts the count over', () => {
    const account = new AccountQuota();
    account.markExhaustedBy('answer', 0, RESET, TRIAL);
    expect(account.succeeded(TRIAL, RESET)).to.equal('answer');
    expect(account.exhaustedUntil(TRIAL)).to.equal(0);
    account.strike(TRIAL, TRIAL + 5_000, 3, RESET, TRIAL);
    expect(account.succeeded(TRIAL + 10_000, RESET)).to.equal(true);
    expect(account.strikesNow(TRIAL + 10_000)).to.equal(0);
    expect(account.succeeded(TRIAL + 20_000, RESET)).to.equal(false);
    expect(account.successesToday(TRIAL + 20_000)).to.equal(3);
    expect(account.successesToday(RESET)).to.equal(0);
  });

  it('remembers the successes of a day that ran out as the allowance observed', () => {
    const account = new AccountQuota();
    for (let i = 0; i < 120; i++) account.succeeded(i, RESET);
    account.markExhaustedBy('inferred', 200, RESET, TRIAL);
    expect(account.observedAllowance).to.equal(120);
  });

  it('lets counters at 0 win: no trial call until the reset', () => {
    const account = new AccountQuota();
    account.markExhaustedBy('inferred', 0, RESET, TRIAL);
    account.markExhausted(10, RESET);
    expect(account.exhaustionView(TRIAL)?.source).to.equal('counters');
    expect(account.trialDue(TRIAL)).to.equal(false);
    expect(account.countedToday(TRIAL)).to.equal(true);
  });

  it('takes a zero balance as used up, a positive one as back, unless a call succeeded on a zero reading', () => {
    const account = new AccountQuota();
    expect(account.recordBalance({ available: 0, total: 250, frozen: 0 }, 0, RESET, TRIAL)).to.equal(true);
    expect(account.exhaustionView(0)?.source).to.equal('balance');
    expect(account.recordBalance({ available: 40, total: 250, frozen: 0 }, 10, RESET, TRIAL)).to.equal(false);
    expect(account.exhaustedUntil(10)).to.equal(0);

    // An answer's exhaustion is not ended by a balance reading.
    account.markExhaustedBy('answer', 20, RESET, TRIAL);
    account.recordBalance({ available: 40, total: 250, frozen: 0 }, 30, RESET, TRIAL);
    expect(account.exhaustionView(30)?.source).to.equal('answer');
    account.succeeded(40, RESET);

    // A call succeeds although the balance reads zero: the balance does not gate this account today.
    account.recordBalance({ available: 0, total: 0, frozen: 0 }, 50, RESET, TRIAL);
    expect(account.succeeded(TRIAL, RESET)).to.equal('balance');
    expect(account.balance?.ignoredUntil).to.equal(RESET);
    expect(account.recordBalance({ available: 0, total: 0, frozen: 0 }, TRIAL + 1, RESET, TRIAL)).to.equal(false);
    expect(account.exhaustedUntil(TRIAL + 1)).to.equal(0);
    // From the reset on, zero is trusted again.
    expect(account.recordBalance({ available: 0, total: 0, frozen: 0 }, RESET, 2 * RESET, TRIAL)).to.equal(true);
  });
});
