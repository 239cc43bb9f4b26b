import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { fakeCounters } from '../../fixtures/fake-counters.js';
import { DailyBudget } from '../../../lib/clients/daily-budget.js';
import { DayClock } from '../../../lib/clients/day-clock.js';

/** 2026-11-30 15:59:59 UTC: one second before midnight in Asia/Shanghai (the default reset). */
const BEFORE_RESET = Date.UTC(2026, 10, 30, 15, 59, 59);

describe('clients: dailyRequests', () => {
  let clock: Clock;
  let day: DayClock;
  beforeEach(() => {
    clock = install({ now: BEFORE_RESET - 3_600_000, toFake: ['Date', 'setTimeout', 'setInterval'] });
    day = new DayClock('Asia/Shanghai', 0, Date.now);
  });
  afterEach(() => clock.uninstall());

  describe('counted in this process (no shared store)', () => {
    it('serves exactly the limit, then refuses, synchronously', () => {
      const budget = new DailyBudget(day, undefined);
      for (let i = 0; i < 3; i++) expect(budget.reserve('a', 3)).to.deep.equal({ ok: true });
      expect(budget.reserve('a', 3)).to.deep.equal({ ok: false, used: 3 });
      expect(budget.used('a')).to.equal(3);
      expect(budget.reserve('b', 3)).to.deep.equal({ ok: true });
    });

    it('starts again at the reset, to the millisecond (Asia/Shanghai midnight)', () => {
      const budget = new DailyBudget(day, undefined);
      budget.reserve('a', 1);
      clock.setSystemTime(BEFORE_RESET + 999);
      expect(budget.reserve('a', 1)).to.deep.equal({ ok: false, used: 1 });
      expect(day.resetsAt()).to.equal(BEFORE_RESET + 1000);
      clock.tick(1);
      expect(budget.reserve('a', 1)).to.deep.equal({ ok: true });
      expect(day.resetsAt()).to.equal(BEFORE_RESET + 1000 + 86_400_000);
    });

    it('takes a slot given back (a request that made no upstream call)', () => {
      const budget = new DailyBudget(day, undefined);
      budget.reserve('a', 1);
      budget.release('a');
      expect(budget.reserve('a', 1)).to.deep.equal({ ok: true });
    });

    it('keeps its counts across a restart of the same day only', () => {
      const budget = new DailyBudget(day, undefined);
      budget.reserve('a', 5);
      budget.reserve('a', 5);
      const saved = budget.snapshot();
      const restarted = new DailyBudget(day, undefined);
      restarted.restore(day.day(), saved);
      expect(restarted.used('a')).to.equal(2);
      const tomorrow = new DailyBudget(day, undefined);
      tomorrow.restore('2026-11-29T16:00', saved);
      expect(tomorrow.used('a')).to.equal(0);
    });
  });

  describe("the fleet's (a shared store that counts)", () => {
    it('reserves with one increment per request, on a counter named by the client and the day', async () => {
      const counters = fakeCounters();
      const budget = new DailyBudget(day, counters);
      expect(await budget.reserve('a', 2)).to.deep.equal({ ok: true });
      expect(await budget.reserve('a', 2)).to.deep.equal({ ok: true });
      expect(counters.calls).to.equal(2);
      expect([...counters.totals]).to.deep.equal([['budget:a:2026-11-30T16:00', 2]]);
    });

    it("refuses past the fleet's total and gives the slot back, so the counter says what was served", async () => {
      const counters = fakeCounters();
      counters.totals.set('budget:a:2026-11-30T16:00', 2);
      const budget = new DailyBudget(day, counters);
      expect(await budget.reserve('a', 2)).to.deep.equal({ ok: false, used: 2 });
      await clock.tickAsync(0);
      expect(counters.totals.get('budget:a:2026-11-30T16:00')).to.equal(2);
    });

    it('believes a full day for 5 s without asking again, then asks', async () => {
      const counters = fakeCounters();
      counters.totals.set('budget:a:2026-11-30T16:00', 1);
      const budget = new DailyBudget(day, counters);
      await budget.reserve('a', 1);
      await clock.tickAsync(0);
      const calls = counters.calls;
      expect(budget.reserve('a', 1)).to.deep.equal({ ok: false, used: 1 });
      expect(counters.calls).to.equal(calls);
      clock.tick(4_999);
      expect(budget.reserve('a', 1)).to.deep.equal({ ok: false, used: 1 });
      clock.tick(1);
      counters.totals.set('budget:a:2026-11-30T16:00', 0);
      expect(await budget.reserve('a', 1)).to.deep.equal({ ok: true });
    });

    it('counts on what it knows while the store does not answer, and tells the fleet once it does', async () => {
      const counters = fakeCounters();
      const budget = new DailyBudget(day, counters);
      await budget.reserve('a', 3);
      counters.down = true;
      expect(await budget.reserve('a', 3)).to.deep.equal({ ok: true });
      expect(await budget.reserve('a', 3)).to.deep.equal({ ok: true });
      expect(await budget.reserve('a', 3)).to.deep.equal({ ok: false, used: 3 });
      counters.down = false;
      expect(await budget.reserve('a', 5)).to.deep.equal({ ok: true });
      expect(counters.totals.get('budget:a:2026-11-30T16:00')).to.equal(4);
    });

    it('gives a slot back to the fleet', async () => {
      const counters = fakeCounters();
      const budget = new DailyBudget(day, counters);
      await budget.reserve('a', 3);
      budget.release('a');
      await clock.tickAsync(0);
      expect(counters.totals.get('budget:a:2026-11-30T16:00')).to.equal(0);
      expect(await budget.read('a')).to.equal(0);
    });
  });
});
