import { expect } from 'chai';
import { ANSWER_RULES, classifyAnswer, type UpstreamAnswer } from '../../lib/upstream/answer-table.js';
import { retryAfterMs } from '../../lib/upstream/attempt-outcome.js';

const zero = { 'modelscope-ratelimit-requests-remaining': '0' };
const modelZero = {
  'modelscope-ratelimit-requests-remaining': '50',
  'modelscope-ratelimit-model-requests-remaining': '0',
};
const countersLeft = { 'modelscope-ratelimit-requests-limit': '2000', 'modelscope-ratelimit-requests-remaining': '7' };
const modelScope = (message: string, code?: string) =>
  JSON.stringify({ errors: { message, ...(code ? { code } : {}), request_id: 'r-1' } });
const limitExceeded = modelScope('Request limit exceeded.');

/** Every row of the table, with answers it must decide and what it decides. */
const EXAMPLES: Record<string, Array<[UpstreamAnswer, object]>> = {
  success: [
    [{ status: 200, headers: {} }, { kind: 'success' }],
    [{ status: 304, headers: {} }, { kind: 'success' }],
  ],
  'token-refused': [
    [{ status: 401, headers: {} }, { kind: 'refused' }],
    [{ status: 401, headers: {}, body: 'magicube balance exhausted' }, { kind: 'refused' }],
  ],
  'balance-used-up': [
    ...[
      modelScope('magicube balance exhausted', 'QuotaLimitExceed'),
      JSON.stringify({ Code: 'QuotaLimitExceed', Message: 'quota exceeded' }),
      modelScope('Your balance is insufficient.'),
      modelScope('Insufficient balance'),
      modelScope('The daily quota has been used up.'),
      modelScope('You exceeded your current quota, please check your plan.'),
      modelScope('魔粒余额不足，请充值'),
      modelScope('余额不足'),
      modelScope('您的免费额度已用完'),
      modelScope('今日调用次数已达上限'),
    ].map((body): [UpstreamAnswer, object] => [
      { status: 403, headers: {}, body },
      { kind: 'exhausted', scope: 'account', source: 'answer' },
    ]),
  ],
  forbidden: [
    [
      { status: 403, headers: {}, body: modelScope('You do not have permission to use this model.') },
      { kind: 'refused' },
    ],
    [{ status: 403, headers: {}, body: modelScope('Forbidden') }, { kind: 'refused' }],
    [{ status: 403, headers: {}, body: modelScope('没有权限访问该模型') }, { kind: 'refused' }],
  ],
  'forbidden-unknown': [
    [{ status: 403, headers: {} }, { kind: 'refused' }],
    [{ status: 403, headers: {}, body: '' }, { kind: 'refused' }],
    [{ status: 403, headers: {}, body: modelScope('Something new happened.') }, { kind: 'refused' }],
  ],
  'daily-counter-zero': [
    [
      { status: 429, headers: zero, body: limitExceeded },
      { kind: 'exhausted', scope: 'account', source: 'counters' },
    ],
  ],
  'model-counter-zero': [
    [
      { status: 429, headers: modelZero },
      { kind: 'exhausted', scope: 'model', source: 'counters' },
    ],
  ],
  'throttled-with-counters': [
    [
      { status: 429, headers: countersLeft, body: limitExceeded },
      { kind: 'rate_limited', retryAfterMs: undefined, counters: true },
    ],
    // Counters win: wording that says "used up" does not outweigh counters that say otherwise.
    [
      { status: 429, headers: countersLeft, body: modelScope('magicube balance exhausted') },
      { kind: 'rate_limited', retryAfterMs: undefined, counters: true },
    ],
  ],
  'used-up-wording': [
    [
      { status: 429, headers: {}, body: modelScope('magicube balance exhausted', 'QuotaLimitExceed') },
      { kind: 'exhausted', scope: 'account', source: 'answer' },
    ],
    [
      { status: 429, headers: {}, body: modelScope('额度已用完') },
      { kind: 'exhausted', scope: 'account', source: 'answer' },
    ],
  ],
  'rate-limited-no-counters': [
    [
      { status: 429, headers: {}, body: limitExceeded },
      { kind: 'rate_limited', retryAfterMs: undefined, counters: false },
    ],
    [
      { status: 429, headers: {} },
      { kind: 'rate_limited', retryAfterMs: undefined, counters: false },
    ],
    [
      { status: 429, headers: { 'retry-after': '12' }, body: modelScope('Rate limit exceeded', 'RateLimitExceed') },
      { kind: 'rate_limited', retryAfterMs: 12_000, counters: false },
    ],
    // A per-minute limit is a rate limit, not a used-up day.
    [
      { status: 429, headers: {}, body: modelScope('每分钟调用次数超过上限') },
      { kind: 'rate_limited', retryAfterMs: undefined, counters: false },
    ],
  ],
  'server-error': [
    [{ status: 500, headers: {} }, { kind: 'failed' }],
    [{ status: 503, headers: zero }, { kind: 'failed' }],
  ],
  'client-error': [
    [{ status: 400, headers: {} }, { kind: 'neutral' }],
    [{ status: 404, headers: {} }, { kind: 'neutral' }],
    [{ status: 422, headers: {}, body: 'insufficient balance' }, { kind: 'neutral' }],
  ],
};

describe('the answer table: what an upstream answer says about its key and account', () => {
  it('has examples for every row, and no examples for a row it lacks', () => {
    expect(Object.keys(EXAMPLES)).to.have.members(ANSWER_RULES.map((rule) => rule.id));
  });

  for (const rule of ANSWER_RULES) {
    describe(`row ${rule.id}`, () => {
      for (const [answer, verdict] of EXAMPLES[rule.id] ?? []) {
        const shown = `${answer.status} ${JSON.stringify(answer.headers)} ${answer.body ?? '(body not read)'}`;
        it(`${shown.slice(0, 110)} → ${JSON.stringify(verdict)}`, () => {
          const classified = classifyAnswer(answer, 0);
          expect(classified.rule.id).to.equal(rule.id);
          expect(classified.verdict).to.deep.equal(verdict);
        });
      }
    });
  }

  it('never takes a used-up balance for a refused token, and logs only 403s it does not know', () => {
    const balance = classifyAnswer({ status: 403, headers: {}, body: modelScope('magicube balance exhausted') }, 0);
    expect(balance.verdict.kind).to.equal('exhausted');
    expect(balance.reason).to.match(/used up/);
    expect(ANSWER_RULES.filter((rule) => rule.unknownShape).map((rule) => rule.id)).to.deep.equal([
      'forbidden-unknown',
    ]);
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores nonsense', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': '1.5' }, now)).to.equal(1500);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).to.equal(30_000);
    expect(retryAfterMs({ 'retry-after': 'Wed, 31 Dec 2025 00:00:00 GMT' }, now)).to.equal(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).to.equal(undefined);
    expect(retryAfterMs({}, now)).to.equal(undefined);
  });
});
