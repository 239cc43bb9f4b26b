// How an upstream answer is read: one table, top to bottom, the first row that
// matches decides. ModelScope's quota counters win wherever they are present;
// without them, a 403 or 429 is read by its wording, since ModelScope answers
// a used-up balance with 403 (`QuotaLimitExceed`, "magicube balance exhausted")
// and a plain 429 says nothing about whether the day's allowance is gone.
import type { IncomingHttpHeaders } from 'node:http';
import { hasQuotaHeaders } from '../pool/account-quota.js';
import { retryAfterMs, type KeyVerdict } from './attempt-outcome.js';

/** What the table reads: the status, the headers, and for 403 and 429 the start of the body. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as text (403 and 429 only); undefined when it was not read whole in time. */
  body?: string;
}

export interface AnswerRule {
  /** Stable name of the row, as the README's table and the tests call it. */
  readonly id: string;
  readonly matches: (answer: UpstreamAnswer) => boolean;
  readonly verdict: (answer: UpstreamAnswer, now: number) => KeyVerdict;
  /** What /stats shows as the key's last error. */
  readonly reason: (status: number) => string;
  /** A 403 whose body says neither "used up" nor "forbidden": logged once per shape, so operators can report it. */
  readonly unknownShape?: true;
}

/**
 * Wording that says the allowance or balance is used up: ModelScope's documented `QuotaLimitExceed`
 * ("magicube balance exhausted"), the usual English phrasings, and the Chinese ones for a used-up balance,
 * points (魔粒) or allowance (额度, 配额), or today's limit reached.
 */
const USED_UP = [
  /quota[\s_-]*limit[\s_-]*exceed/i,
  /balance[\s_-]*(is[\s_-]*|has[\s_-]*been[\s_-]*)?(exhausted|insufficient|not[\s_-]*enough|used[\s_-]*up|depleted)/i,
  /insufficient[\s_-]*(balance|quota|points|credits?)/i,
  /magicubes?[\s_-]*balance/i,
  /(daily|free)[\s_-]*(quota|allowance|limit)[\s_-]*(is[\s_-]*|has[\s_-]*been[\s_-]*)?(exhausted|used[\s_-]*up)/i,
  /(daily|free)[\s_-]*(quota|allowance|limit)[\s_-]*(is[\s_-]*|has[\s_-]*been[\s_-]*)?(exceeded|reached)/i,
  /exceeded[\s_-]*your[\s_-]*(current[\s_-]*)?quota/i,
  /余额不足|魔粒(不足|余额不足|已用完|已用尽)/,
  /(额度|配额)(已用完|已用尽|不足)/,
  /(今日|每日|当日|今天).{0,12}(用完|用尽|上限)/,
];

/** Wording of a 403 about the token's permissions: a refusal we know, not worth reporting. */
const REFUSAL = [
  /permission|forbidden|not[\s_-]*(authori[sz]ed|allowed|permitted)|access[\s_-]*denied|unauthori[sz]ed/i,
  /invalid[\s_-]*(api[\s_-]*)?(token|key)/i,
  /无权|没有权限|权限不足|未授权|禁止访问|鉴权失败|认证失败/,
];

export function saysUsedUp(body: string | undefined): boolean {
  return body !== undefined && USED_UP.some((pattern) => pattern.test(body));
}

function headerIsZero(headers: IncomingHttpHeaders, name: string): boolean {
  const value = headers[name];
  return typeof value === 'string' && value.trim() !== '' && Number(value) === 0;
}

const is = (status: number) => (answer: UpstreamAnswer) => answer.status === status;
const refused = (): KeyVerdict => ({ kind: 'refused' });
const fixed = (text: string) => () => text;

/** The table, in order. */
export const ANSWER_RULES: readonly AnswerRule[] = [
  {
    id: 'success',
    matches: (a) => a.status < 400,
    verdict: () => ({ kind: 'success' }),
    reason: (status) => `upstream answered ${status}`,
  },
  { id: 'token-refused', matches: is(401), verdict: refused, reason: fixed('token refused (401)') },
  {
    id: 'balance-used-up',
    matches: (a) => a.status === 403 && saysUsedUp(a.body),
    verdict: () => ({ kind: 'exhausted', scope: 'account', source: 'answer' }),
    reason: fixed('allowance or balance used up (403)'),
  },
  {
    id: 'forbidden',
    matches: (a) =>
      a.status === 403 && a.body !== undefined && REFUSAL.some((pattern) => pattern.test(a.body as string)),
    verdict: refused,
    reason: fixed('token forbidden (403)'),
  },
  {
    id: 'forbidden-unknown',
    matches: is(403),
    verdict: refused,
    reason: fixed('token forbidden (403)'),
    unknownShape: true,
  },
  {
    id: 'daily-counter-zero',
    matches: (a) => a.status === 429 && headerIsZero(a.headers, 'modelscope-ratelimit-requests-remaining'),
    verdict: () => ({ kind: 'exhausted', scope: 'account', source: 'counters' }),
    reason: fixed('daily quota used up (429)'),
  },
  {
    id: 'model-counter-zero',
    matches: (a) => a.status === 429 && headerIsZero(a.headers, 'modelscope-ratelimit-model-requests-remaining'),
    verdict: () => ({ kind: 'exhausted', scope: 'model', source: 'counters' }),
    reason: fixed("model's daily quota used up (429)"),
  },
  {
    id: 'throttled-with-counters',
    matches: (a) => a.status === 429 && hasQuotaHeaders(a.headers),
    verdict: (a, now) => ({ kind: 'rate_limited', retryAfterMs: retryAfterMs(a.headers, now), counters: true }),
    reason: fixed('rate limited (429)'),
  },
  {
    id: 'used-up-wording',
    matches: (a) => a.status === 429 && saysUsedUp(a.body),
    verdict: () => ({ kind: 'exhausted', scope: 'account', source: 'answer' }),
    reason: fixed('allowance or balance used up (429)'),
  },
  {
    id: 'rate-limited-no-counters',
    matches: is(429),
    verdict: (a, now) => ({ kind: 'rate_limited', retryAfterMs: retryAfterMs(a.headers, now), counters: false }),
    reason: fixed('rate limited (429, no quota counters)'),
  },
  {
    id: 'server-error',
    matches: (a) => a.status >= 500,
    verdict: () => ({ kind: 'failed' }),
    reason: (status) => `upstream answered ${status}`,
  },
  {
    // 400, 404, 413, 422 …: the client's mistake, which says nothing about the key.
    id: 'client-error',
    matches: () => true,
    verdict: () => ({ kind: 'neutral' }),
    reason: (status) => `upstream answered ${status}`,
  },
];

export interface Classified {
  verdict: KeyVerdict;
  /** The row that matched. */
  rule: AnswerRule;
  reason: string;
}

/** Reads an answer by the table: the first row that matches decides. */
export function classifyAnswer(answer: UpstreamAnswer, now: number): Classified {
  const rule = ANSWER_RULES.find((row) => row.matches(answer)) as AnswerRule;
  return { verdict: rule.verdict(answer, now), rule, reason: rule.reason(answer.status) };
}
