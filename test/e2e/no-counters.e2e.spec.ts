import { expect } from 'chai';
import request from 'supertest';
import type { Behaviour } from '../../lib/testing/index.js';
import { KEYS, chat, manualClock, startRig, type Rig } from '../helpers.js';

const MINUTE = 60_000;
/** 10:00 in Shanghai: the allowance resets at 16:00Z. */
const MORNING = Date.parse('2026-03-01T02:00:00Z');
const RESET = Date.parse('2026-03-01T16:00:00Z');

describe('quota without counters: ModelScope sends no modelscope-ratelimit-* headers', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const stat = (i: number) => Object.values(rig.balancer.stats())[i];

  it(
    'a used-up key costs at most assumeExhaustedAfter calls until the reset, plus one per trial period ' +
      '(default cooldowns), and is used again after the reset',
    async function () {
      this.timeout(30_000);
      const clock = manualClock(MORNING);
      rig = await startRig({ now: clock.now }, { fake: { counters: false } });
      rig.fake.points(KEYS[0], { daily: 5, whenEmpty: 'plain-429' });
      let usedUpAt: number | undefined;
      let wastedBeforeTrials = 0;
      // A request every two minutes until the reset: every one is served (the other keys have plenty).
      for (let now = MORNING; now < RESET; now += 2 * MINUTE) {
        clock.set(now);
        expect((await chat(rig.url)).status).to.equal(200);
        if (usedUpAt === undefined && rig.fake.pointsLeft(KEYS[0]) === 0) usedUpAt = now;
        if (stat(0).exhaustion && wastedBeforeTrials === 0) wastedBeforeTrials = rig.fake.count(KEYS[0]) - 5;
      }
      expect(usedUpAt).to.be.a('number');
      expect(wastedBeforeTrials).to.be.at.most(3);
      const trialPeriods = Math.ceil((RESET - (usedUpAt as number)) / (30 * MINUTE));
      expect(rig.fake.count(KEYS[0]) - 5).to.be.at.most(3 + trialPeriods);
      const exhaustion = stat(0).exhaustion;
      expect(exhaustion).to.include({ source: 'inferred', until: new Date(RESET).toISOString() });
      expect(stat(0).state).to.equal('exhausted');
      expect(stat(0).quota.rate_limits_in_a_row).to.be.at.least(3);

      // After the reset (and the longest cooldown its last trial may have started), the key serves again.
      clock.set(RESET + 5 * MINUTE);
      rig.fake.newDay();
      const before = rig.fake.count(KEYS[0]);
      for (let i = 0; i < 6; i++) expect((await chat(rig.url)).status).to.equal(200);
      expect(rig.fake.count(KEYS[0]) - before).to.equal(2);
      expect(stat(0).state).to.equal('healthy');
      expect(stat(0).exhaustion).to.equal(null);
    },
  );

  it('counts a burst of concurrent 429s on one key once, and keys of one account as one', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig(
      { now: clock.now, keys: [{ key: KEYS[0], account: 'team' }, { key: KEYS[1], account: 'team' }, KEYS[2]] },
      { fake: { counters: false } },
    );
    rig.fake.behave(KEYS[0], 'rate-limited').behave(KEYS[1], 'rate-limited');
    // Three concurrent requests: the team's two keys each answer 429 (the third request finds them cooling).
    await Promise.all([chat(rig.url), chat(rig.url), chat(rig.url)]);
    expect(rig.fake.count(KEYS[0]) + rig.fake.count(KEYS[1])).to.be.at.least(2);
    expect(stat(0).quota.rate_limits_in_a_row).to.equal(1);
    expect(stat(1).quota.rate_limits_in_a_row).to.equal(1);
    expect(stat(0).state).to.equal('cooling');
  });

  it('puts a throttled key that answers 200 again back at once, and starts its count over', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now, keys: [KEYS[0]] }, { fake: { counters: false } });
    rig.fake.behave(KEYS[0], 'rate-limited');
    expect((await chat(rig.url)).status).to.equal(429);
    clock.advance(5_000);
    expect((await chat(rig.url)).status).to.equal(429);
    expect(stat(0).quota.rate_limits_in_a_row).to.equal(2);
    clock.advance(10_000);
    rig.fake.behave(KEYS[0], 'ok');
    expect((await chat(rig.url)).status).to.equal(200);
    expect(stat(0)).to.deep.include({ state: 'healthy', exhaustion: null });
    expect(stat(0).quota.rate_limits_in_a_row).to.equal(0);

    // Three in a row now: used up until the reset, and the third already says so to the client.
    rig.fake.behave(KEYS[0], 'rate-limited');
    for (const wait of [0, 5_000]) {
      clock.advance(wait);
      expect(JSON.parse((await chat(rig.url)).body).error.code).to.equal('rate_limited');
    }
    clock.advance(10_000);
    const third = await chat(rig.url);
    expect(third.status).to.equal(429);
    expect(JSON.parse(third.body).error.code).to.equal('daily_quota_exhausted');
    expect(third.headers['x-should-retry']).to.equal('false');
    expect(stat(0).exhaustion?.source).to.equal('inferred');
    const row = (await request(rig.app).get('/ms/status').expect(200)).text;
    expect(row).to.match(/resets in <time[^>]*>[^<]*<\/time> · trial in <time[^>]*>30m 0s<\/time>/);
    expect(row).to.include('(inferred from 429s)');

    // No call until the trial; the pool answers for it, with Retry-After to the reset.
    clock.advance(20 * MINUTE);
    const held = await chat(rig.url);
    expect(held.status).to.equal(429);
    expect(held.headers['retry-after']).to.equal(String(Math.ceil((RESET - clock.now()) / 1000)));
    expect(JSON.parse(held.body).error.code).to.equal('daily_quota_exhausted');
    expect(rig.fake.count(KEYS[0])).to.equal(6);

    // The trial, 30 minutes after the third 429: it answers, and the key is back at once.
    clock.advance(10 * MINUTE);
    rig.fake.behave(KEYS[0], 'ok');
    expect((await chat(rig.url)).status).to.equal(200);
    expect(stat(0)).to.deep.include({ state: 'healthy', exhaustion: null });
    expect((await chat(rig.url)).status).to.equal(200);
    expect(rig.fake.count(KEYS[0])).to.equal(8);
  });

  it('takes a 5xx or a 400 between two 429s as breaking the row', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now, keys: [KEYS[0]] }, { fake: { counters: false } });
    const answers: Behaviour[] = ['rate-limited', 'rate-limited', 'server-error', 'rate-limited', 'rate-limited'];
    answers.push({ status: 400, body: { error: { message: 'bad' } } }, 'rate-limited', 'rate-limited');
    for (const answer of answers) {
      rig.fake.behave(KEYS[0], answer);
      await chat(rig.url);
      clock.advance(5 * MINUTE);
    }
    expect(stat(0).exhaustion).to.equal(null);
    expect(stat(0).quota.rate_limits_in_a_row).to.equal(2);
  });

  it('takes a 403 balance answer as exhausted, never refused; all used up: 429 daily_quota_exhausted', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now }, { fake: { counters: false } });
    for (const key of KEYS) rig.fake.points(key, { daily: 2 });
    for (let i = 0; i < 6; i++) expect((await chat(rig.url)).status).to.equal(200);
    const last = await chat(rig.url);
    expect(last.status).to.equal(429);
    expect(last.headers['x-should-retry']).to.equal('false');
    expect(last.headers['retry-after']).to.equal(String((RESET - MORNING) / 1000));
    expect(JSON.parse(last.body).error.code).to.equal('daily_quota_exhausted');
    expect(rig.fake.count()).to.equal(9);
    for (let i = 0; i < 3; i++) {
      expect(stat(i).state).to.equal('exhausted');
      expect(stat(i).exhaustion).to.include({ source: 'answer' });
      expect(stat(i).last_error?.reason).to.match(/used up \(403\)/);
    }
    const next = await chat(rig.url);
    expect(next.status).to.equal(429);
    expect(JSON.parse(next.body).error.code).to.equal('daily_quota_exhausted');
    expect(next.headers['x-should-retry']).to.equal('false');
    expect(rig.fake.count()).to.equal(9);
    const status = (await request(rig.app).get('/ms/status/data').expect(200)).body.view;
    expect(status.summary.states.exhausted).to.equal(3);
    expect(status.summary.states.invalid).to.equal(0);
    expect(status.keys[0].exhaustion).to.include({ source: 'answer' });
  });

  it('lets counters win: a plain 429 on an account with counters today is a rate limit, however often', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now, keys: [KEYS[0]] });
    rig.fake.quota(KEYS[0], { limit: 100, remaining: 50 });
    expect((await chat(rig.url)).status).to.equal(200);
    rig.fake.behave(KEYS[0], 'rate-limited');
    for (let i = 0; i < 6; i++) {
      expect(JSON.parse((await chat(rig.url)).body).error.code).to.equal('rate_limited');
      clock.advance(5 * MINUTE);
    }
    expect(stat(0)).to.deep.include({ state: 'healthy', exhaustion: null });
    expect(stat(0).quota.rate_limits_in_a_row).to.equal(0);

    rig.fake.behave(KEYS[0], 'quota-exhausted');
    await chat(rig.url);
    expect(stat(0).exhaustion).to.include({ source: 'counters', next_trial_at: null });
    rig.fake.behave(KEYS[0], 'ok');
    for (let i = 0; i < 4; i++) {
      clock.advance(30 * MINUTE);
      expect((await chat(rig.url)).status).to.equal(429);
    }
    expect(rig.fake.count(KEYS[0])).to.equal(8);
  });

  it('does not count 429s while the whole pool is throttled, until no key has succeeded for a minute', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now }, { fake: { counters: false } });
    for (let i = 0; i < 3; i++) await chat(rig.url);
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    const exhausted = () => [0, 1, 2].filter((i) => stat(i).state === 'exhausted').length;
    for (let waited = 0; waited < MINUTE; waited += 5_000) {
      clock.set(MORNING + waited);
      await chat(rig.url);
    }
    expect(exhausted()).to.equal(0);
    expect(Math.max(...[0, 1, 2].map((i) => stat(i).quota.rate_limits_in_a_row))).to.be.at.most(1);
    for (let waited = MINUTE; waited <= 2 * MINUTE; waited += 5_000) {
      clock.set(MORNING + waited);
      await chat(rig.url);
    }
    expect(exhausted()).to.equal(3);
  });

  it('forecasts from the successes a key served on the day it ran out, when no counters exist', async () => {
    const clock = manualClock(MORNING);
    rig = await startRig({ now: clock.now, keys: [KEYS[0]] }, { fake: { counters: false } });
    rig.fake.points(KEYS[0], { daily: 4, whenEmpty: 'plain-429' });
    for (let i = 0; i < 7; i++) {
      await chat(rig.url);
      clock.advance(MINUTE);
    }
    expect(stat(0).exhaustion?.source).to.equal('inferred');
    expect(stat(0).quota.observed_allowance).to.equal(4);
    let view = (await request(rig.app).get('/ms/status/data').expect(200)).body.view;
    expect(view.summary).to.include({ quota_left: 0, quota_limit: 4, quota_basis: 'observed' });

    clock.set(RESET + 10 * MINUTE);
    rig.fake.newDay();
    await chat(rig.url);
    view = (await request(rig.app).get('/ms/status/data').expect(200)).body.view;
    expect(view.summary).to.include({ quota_left: 3, quota_limit: 4, quota_basis: 'observed' });
    expect(view.summary.runs_dry_at).to.be.a('string');
    expect(view.keys[0]).to.include({ successes_today: 1 });
    const page = (await request(rig.app).get('/ms/status').expect(200)).text;
    expect(page).to.include('3 of 4 (estimated from days seen to run out)');
  });
});
