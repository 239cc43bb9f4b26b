import type { IncomingHttpHeaders } from 'node:http';
import type { LastError } from '../pool/key-state.js';
import { isTimeout, type AttemptFailure, type BreakReason } from './upstream-attempt.js';

/** What an upstream answer says about the key that carried it. */
export type KeyVerdict =
  | { kind: 'success' }
  | { kind: 'neutral' }
  | { kind: 'rate_limited'; retryAfterMs: number | undefined }
  | { kind: 'exhausted'; scope: 'account' | 'model' }
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

function headerIsZero(headers: IncomingHttpHeaders, name: string): boolean {
  const value = headers[name];
  return typeof value === 'string' && value.trim() !== '' && Number(value) === 0;
}

/**
 * A 429 is a used-up daily allowance when ModelScope's remaining counters say
 * 0 (the account's, or only the model's); otherwise it is a short rate limit.
 */
function classify429(headers: IncomingHttpHeaders, now: number): KeyVerdict {
  if (headerIsZero(headers, 'modelscope-ratelimit-requests-remaining')) return { kind: 'exhausted', scope: 'account' };
  if (headerIsZero(headers, 'modelscope-ratelimit-model-requests-remaining'))
    return { kind: 'exhausted', scope: 'model' };
  return { kind: 'rate_limited', retryAfterMs: retryAfterMs(headers, now) };
}

export function verdictForStatus(status: number, headers: IncomingHttpHeaders, now: number): KeyVerdict {
  if (status < 400) return { kind: 'success' };
  if (status === 401 || status === 403) return { kind: 'refused' };
  if (status === 429) return classify429(headers, now);
  if (status >= 500) return { kind: 'failed' };
  // 400, 404, 413, 422 …: the client's mistake, which says nothing about the key.
  return { kind: 'neutral' };
}

export function lastErrorForStatus(status: number, now: number): LastError {
  const reasons: Record<number, string> = {
    401: 'token refused (401)',
    403: 'token forbidden (403)',
    429: 'rate limited (429)',
  };
  return { status, reason: reasons[status] ?? `upstream answered ${status}`, at: now };
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
