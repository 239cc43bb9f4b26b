import type { IncomingHttpHeaders } from 'node:http';
import type { LastError } from '../pool/key-state.js';
import { isTimeout, type AttemptFailure, type BreakReason } from './upstream-attempt.js';

/**
 * What an upstream answer says about the key that carried it (see answer-table.ts for how each answer is read).
 * `rate_limited.counters` says whether the answer carried quota counters: a 429 without them counts toward inferring
 * a used-up allowance. `exhausted.source` says how the exhaustion is known: a counter at 0, the answer's wording, or
 * inferred from 429s in a row.
 */
export type KeyVerdict =
  | { kind: 'success' }
  | { kind: 'neutral' }
  | { kind: 'rate_limited'; retryAfterMs: number | undefined; counters: boolean }
  | { kind: 'exhausted'; scope: 'account' | 'model'; source: 'counters' | 'answer' | 'inferred' }
  | { kind: 'failed' }
  | { kind: 'refused' };

/** Retry-After in seconds or as an HTTP date, in ms; undefined when absent or malformed. */
export function retryAfterMs(headers: IncomingHttpHeaders, now: number): number | undefined {
  const raw = headers['retry-after'];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const FAILURE_WORDS: Record<AttemptFailure | BreakReason, string> = {
  connect: 'connection failed',
  connect_timeout: 'connect timeout',
  first_byte_timeout: 'first byte timeout',
  idle_timeout: 'idle timeout',
  reset: 'connection reset',
  protocol: 'protocol error (unexpected 1xx)',
  aborted: 'aborted',
};

/** What an attempt's failure is called at the edge (logs, /stats, error bodies). */
export function describeFailure(failure: AttemptFailure | BreakReason): string {
  return FAILURE_WORDS[failure];
}

export function lastErrorForFailure(failure: AttemptFailure | BreakReason, now: number): LastError {
  return { status: isTimeout(failure) ? 'timeout' : 'error', reason: describeFailure(failure), at: now };
}
