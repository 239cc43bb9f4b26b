// What one upstream answer does to the pool: its quota counters recorded, its
// verdict read from the answer table and applied to the key and its account.
import type { IncomingMessage } from 'node:http';
import { hasModelQuotaHeaders, hasQuotaHeaders } from '../pool/account-quota.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { classifyAnswer } from '../upstream/answer-table.js';
import type { KeyVerdict } from '../upstream/attempt-outcome.js';
import type { KeyPool } from '../pool/pool.js';
import type { UnknownAnswers } from '../observe/unknown-answers.js';
import type { PeekedBody } from './error-peek.js';
import { decodeBody } from './body-coding.js';

/** Characters of a peeked body the table reads: the wording that matters comes first. */
const READ_CHARS = 8 * 1024;

function peekedText(peeked: PeekedBody | undefined, response: IncomingMessage): string | undefined {
  if (peeked?.state !== 'whole') return undefined;
  const decoded = decodeBody(Buffer.concat(peeked.chunks), response.headers['content-encoding']);
  return decoded
    ?.subarray(0, READ_CHARS * 4)
    .toString('utf8')
    .slice(0, READ_CHARS);
}

/**
 * Records and applies what `response` says about `entry`; returns the verdict. A 429 that makes the account count
 * as used up (the last of `assumeExhaustedAfter` in a row, or a trial that failed) comes back as `exhausted`, so the
 * client hears that waiting won't help.
 */
/** What judging an answer needs: the pool it is applied to, the clock, where unknown 403 shapes are reported. */
export interface JudgeDeps {
  pool: KeyPool;
  now: () => number;
  unknownAnswers: UnknownAnswers;
}

export function judgeAnswer(
  deps: JudgeDeps,
  entry: PoolEntry,
  response: IncomingMessage,
  peeked: PeekedBody | undefined,
  modelName: () => string | undefined,
): KeyVerdict {
  const { pool } = deps;
  const status = response.statusCode ?? 502;
  if (hasQuotaHeaders(response.headers)) {
    pool.recordQuota(entry, response.headers, hasModelQuotaHeaders(response.headers) ? modelName() : undefined);
  }
  const now = deps.now();
  const body = peekedText(peeked, response);
  const { verdict, rule, reason } = classifyAnswer({ status, headers: response.headers, body }, now);
  if (rule.unknownShape && body !== undefined) deps.unknownAnswers.report(status, entry.label, body);
  const error = { status, reason, at: now };
  switch (verdict.kind) {
    case 'success':
      pool.succeeded(entry);
      break;
    case 'refused':
      pool.refused(entry, error);
      break;
    case 'failed':
      pool.failed(entry, error);
      pool.answeredOtherwise(entry);
      break;
    case 'neutral':
      pool.answeredOtherwise(entry);
      break;
    case 'rate_limited': {
      const usedUp = pool.rateLimited(entry, verdict.retryAfterMs, error, verdict.counters);
      if (usedUp && !verdict.counters) return { kind: 'exhausted', scope: 'account', source: 'inferred' };
      break;
    }
    case 'exhausted':
      if (verdict.source !== 'inferred') {
        pool.exhausted(entry, verdict.scope === 'model' ? modelName() : undefined, error, verdict.source);
      }
      break;
    default:
  }
  return verdict;
}
