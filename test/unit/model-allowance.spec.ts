import { expect } from 'chai';
import { modelAllowances, routeStandings } from '../../lib/model-routes/model-allowance.js';
import { resolveModelRoutes } from '../../lib/model-routes/model-routes.js';
import { quotaPool } from '../fixtures/quota-pool.js';
import { manualClock } from '../helpers.js';

const [A, B] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct'];
const MORNING = Date.parse('2026-03-01T02:00:00Z');
const RESET = Date.parse('2026-03-01T16:00:00Z');
const counters = (remaining: number, limit = 500) => ({
  'modelscope-ratelimit-model-requests-limit': String(limit),
  'modelscope-ratelimit-model-requests-remaining': String(remaining),
});

// Three keys, the first two of one account.
const poolOf = (clock: ReturnType<typeof manualClock>) => quotaPool(clock, ['a', 'a', 'b']);

describe('/status of models: allowance left across the pool, and the routes on their fallback', () => {
  it('sums each model over accounts (keys of one account once), by name; says when used up everywhere', () => {
    const clock = manualClock(MORNING);
    const pool = poolOf(clock);
    pool.recordQuota(pool.entries[0], counters(120), A);
    pool.recordQuota(pool.entries[1], counters(119), A);
    pool.recordQuota(pool.entries[2], counters(0, 200), A);
    pool.recordQuota(pool.entries[2], counters(0), B);
    expect(modelAllowances(pool.entries, clock.now())).to.deep.equal([
      { model: B, remaining: 0, limit: 500, accounts: 1, used_up: 1, used_up_everywhere: false, back_at: RESET },
      { model: A, remaining: 119, limit: 700, accounts: 2, used_up: 1, used_up_everywhere: false, back_at: RESET },
    ]);
    pool.recordQuota(pool.entries[0], counters(0), B);
    expect(modelAllowances(pool.entries, clock.now())[0]).to.include({ used_up: 2, used_up_everywhere: true });
    clock.set(RESET);
    expect(modelAllowances(pool.entries, clock.now()), 'stale after the reset').to.deep.equal([]);
  });

  it('shows each route’s model now: its first, a fallback, or none left', () => {
    const clock = manualClock(MORNING);
    const pool = poolOf(clock);
    const routes = resolveModelRoutes({ coder: [A, B], [B]: [B] });
    expect(routeStandings(routes, pool.entries, clock.now())).to.deep.equal([
      { name: 'coder', models: [A, B], serving: A, on_fallback: false },
      { name: B, models: [B], serving: B, on_fallback: false },
    ]);
    for (const i of [0, 2]) pool.recordQuota(pool.entries[i], counters(0), A);
    expect(routeStandings(routes, pool.entries, clock.now())[0]).to.deep.include({ serving: B, on_fallback: true });
    for (const i of [0, 2]) pool.recordQuota(pool.entries[i], counters(0), B);
    expect(routeStandings(routes, pool.entries, clock.now())).to.deep.equal([
      { name: 'coder', models: [A, B], serving: null, on_fallback: true },
      { name: B, models: [B], serving: null, on_fallback: true },
    ]);
    clock.set(RESET);
    expect(routeStandings(routes, pool.entries, clock.now())[0]).to.deep.include({ serving: A, on_fallback: false });
  });
});
