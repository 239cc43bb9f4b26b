import { expect } from 'chai';
import type { LastError } from '../../lib/pool/key-state.js';
import type { KeyPool } from '../../lib/pool/pool.js';
import { modelsUsedUpMessage } from '../../lib/model-routes/used-up-message.js';
import { RouteWalk } from '../../lib/model-routes/route-walk.js';
import { quotaPool } from '../fixtures/quota-pool.js';
import { manualClock } from '../helpers.js';

const [A, B, C] = ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 'Qwen/Qwen3-Coder-30B-A3B-Instruct', 'moonshotai/Kimi-K2'];
const ROUTE = [A, B, C];
const usedUp: LastError = { status: 429, reason: "model's daily quota used up (429)", at: 0 };
const limited: LastError = { status: 429, reason: 'rate limited (429)', at: 0 };
/** 2026-03-01 10:00 in Beijing: the allowance comes back at 16:00 UTC. */
const MORNING = Date.parse('2026-03-01T02:00:00Z');
const RESET = Date.parse('2026-03-01T16:00:00Z');

const poolOf = (clock = manualClock(MORNING)) => quotaPool(clock);

/** The pool learned from counters at 0 that `model` is used up on the keys numbered `on`. */
function modelUsedUp(pool: KeyPool, model: string, on: number[]): void {
  for (const i of on) pool.exhausted(pool.entries[i], model, usedUp, 'counters');
}

describe('the route walk: which model of a route, and which key', () => {
  // [what, models used up on which keys, cooling keys, the model picked (undefined: none)]
  const table: Array<[string, Record<string, number[]>, number[], string | undefined]> = [
    ['nothing known: the first model', {}, [], A],
    ['the first model used up on one key: still the first, on another key', { [A]: [0] }, [], A],
    ['the first model used up on every key: the second', { [A]: [0, 1, 2] }, [], B],
    ['the first two used up everywhere: the third', { [A]: [0, 1, 2], [B]: [0, 1, 2] }, [], C],
    ['every model used up everywhere: none', { [A]: [0, 1, 2], [B]: [0, 1, 2], [C]: [0, 1, 2] }, [], undefined],
    ['every key cooling: none (a cooldown is no reason to change models)', {}, [0, 1, 2], undefined],
    ['the first used up on the only keys not cooling: the second', { [A]: [0, 1] }, [2], B],
    ['a model used up elsewhere does not matter', { [C]: [0, 1, 2] }, [], A],
  ];
  for (const [what, exhausted, cooling, expected] of table) {
    it(what, () => {
      const pool = poolOf();
      for (const [model, keys] of Object.entries(exhausted)) modelUsedUp(pool, model, keys);
      for (const i of cooling) pool.rateLimited(pool.entries[i], 60_000, limited);
      const pick = new RouteWalk('coder', ROUTE, pool).next();
      expect(pick?.model).to.equal(expected);
      if (!pick) return;
      const key = pool.entries.indexOf(pick.entry);
      expect(exhausted[pick.model] ?? [], 'a key with allowance for the model').not.to.include(key);
      expect(cooling).not.to.include(key);
      expect(pick.from).to.equal(pick.model === A ? undefined : A);
    });
  }

  it('moves on within the request after one call per key found the first model used up', () => {
    const pool = poolOf();
    const walk = new RouteWalk('coder', ROUTE, pool);
    const sent: string[] = [];
    for (;;) {
      const pick = walk.next();
      if (!pick) break;
      sent.push(`${pick.entry.label}:${pick.model}`);
      if (pick.model === B) break;
      // The upstream says A is used up on this key: the pool learns it from the counters, the walk from the verdict.
      modelUsedUp(pool, A, [pool.entries.indexOf(pick.entry)]);
      walk.attempted(pick.entry.key, true);
    }
    expect(sent.filter((s) => s.endsWith(A)).sort()).to.deep.equal([`k0:${A}`, `k1:${A}`, `k2:${A}`]);
    expect(sent.at(-1)?.endsWith(`:${B}`)).to.equal(true);
    expect(sent).to.have.length(4);
    expect(walk.model).to.equal(B);
    expect(walk.attempts, 'finding a model used up is no attempt').to.equal(0);
  });

  it('never tries a key twice for one model, even when the pool did not learn (a verdict without the model)', () => {
    const pool = poolOf();
    const walk = new RouteWalk('coder', [A, B], pool);
    const tried: string[] = [];
    for (let pick = walk.next(); pick && tried.length < 10; pick = walk.next()) {
      tried.push(`${pick.entry.label}:${pick.model}`);
      walk.attempted(pick.entry.key, true);
    }
    expect(new Set(tried).size).to.equal(tried.length);
    expect(tried).to.have.length(6);
  });

  it('does not try again, for any model, a key that failed otherwise; those count as attempts', () => {
    const pool = poolOf();
    const walk = new RouteWalk('coder', [A, B], pool);
    const first = walk.next();
    walk.attempted(first?.entry.key as string, false);
    const second = walk.next();
    expect(second?.model).to.equal(A);
    expect(second?.entry).not.to.equal(first?.entry);
    expect(walk.attempts).to.equal(1);
  });

  it('brings the first model back at the reset (fake clock), without a call spent on it before', () => {
    const clock = manualClock(MORNING);
    const pool = poolOf(clock);
    modelUsedUp(pool, A, [0, 1, 2]);
    expect(new RouteWalk('coder', ROUTE, pool).next()?.model).to.equal(B);
    clock.set(RESET - 1);
    expect(new RouteWalk('coder', ROUTE, pool).next()?.model).to.equal(B);
    clock.set(RESET);
    expect(new RouteWalk('coder', ROUTE, pool).next()?.model).to.equal(A);
  });

  it('rewrites only the top-level model of the body for the model picked; every other byte passes as sent', () => {
    const pool = poolOf();
    const sent = '{ "n": 12345678901234567890, "model" : "coder", "z": "\\u00e9\\n", "a": {"model": "x"} }';
    const walk = new RouteWalk('coder', [A, B], pool);
    const original = Buffer.from(sent);
    expect(walk.body(original), 'before any pick').to.equal(original);
    walk.next();
    expect(walk.body(original).toString()).to.equal(sent.replace('"coder"', JSON.stringify(A)));
    expect(walk.body(original), 'the same bytes while the model stays').to.equal(walk.body(original));
    modelUsedUp(pool, A, [0, 1, 2]);
    walk.next();
    expect(walk.body(original).toString()).to.equal(sent.replace('"coder"', JSON.stringify(B)));
    const itself = new RouteWalk(A, [A, B], poolOf());
    itself.next();
    expect(itself.body(original), 'a route named by its first model sends the body untouched').to.equal(original);
  });

  it('says why none: every model used up (naming them, back at the reset), else what holds the first one', () => {
    const pool = poolOf();
    modelUsedUp(pool, A, [0, 1, 2]);
    modelUsedUp(pool, B, [0, 1, 2]);
    expect(new RouteWalk('coder', [A, B], pool).whyNone()).to.deep.equal({
      kind: 'exhausted',
      retryAt: RESET,
      models: [A, B],
    });
    const cooling = poolOf();
    for (const entry of cooling.entries) cooling.rateLimited(entry, 60_000, limited);
    expect(new RouteWalk('coder', [A, B], cooling).whyNone()).to.deep.equal({
      kind: 'cooling',
      retryAt: MORNING + 8000,
    });
  });
});

describe('the answer for a model used up on every key', () => {
  it('names the model, or the route and its models, and when it comes back', () => {
    const pool = poolOf();
    modelUsedUp(pool, A, [0, 1, 2]);
    expect(modelsUsedUpMessage(pool, [A], RESET)).to.equal(
      `The daily allowance of model "${A}" is used up on every API key; it comes back at 2026-03-01T16:00:00.000Z. ` +
        'Other models still work.',
    );
    expect(modelsUsedUpMessage(pool, [A, B], RESET, 'coder')).to.match(
      /every model of route "coder" \("Qwen\/Qwen3-Coder-480B-A35B-Instruct", "Qwen\/Qwen3-Coder-30B-A3B-Instruct"\)/,
    );
    expect(modelsUsedUpMessage(pool, [A], RESET, A)).to.match(/of model "Qwen/);
  });

  it('says nothing of models when the accounts themselves are used up (the usual answer says so)', () => {
    const pool = poolOf();
    for (const entry of pool.entries) pool.exhausted(entry, undefined, usedUp, 'counters');
    expect(modelsUsedUpMessage(pool, [A], RESET)).to.equal(undefined);
  });

  it('cuts a long name short: the name is the client’s', () => {
    const message = modelsUsedUpMessage(poolOf(), [`a/${'b'.repeat(5000)}`], RESET) as string;
    expect(message.length).to.be.below(400);
  });
});
