// The answer chosen for a client: relayed (streamed, or read whole when it is
// an error to reshape or an async submission to remember), replaced by our
// own error when it speaks of the pool rather than the request, or dropped
// when another key's answer is chosen instead.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ErrorDialect } from '../answers/dialect.js';
import type { BalancerErrorCode } from '../answers/error-codes.js';
import { answerUsedUp, DONT_RETRY } from '../answers/no-key-answer.js';
import { sendError } from '../answers/send.js';
import type { KeyPool } from '../pool/pool.js';
import { describeFailure, type KeyVerdict, lastErrorForFailure } from '../upstream/attempt-outcome.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import { type AttemptFailure, isTimeout, type UpstreamAttempt } from '../upstream/upstream-attempt.js';
import type { PeekedBody } from './error-peek.js';
import type { KeyLease } from './key-lease.js';
import { bufferResponse, type RelayContext, type RelayHooks, type RelayTap, streamResponse } from './response-relay.js';
import { resendRepeatsGeneration } from './retry-rules.js';
import { submittedTaskId } from './task-ids.js';

/** One attempt's result: an answer (its verdict read), or how it failed. The lease is released by whoever ends it. */
export interface AttemptOutcome {
  lease: KeyLease;
  attempt: UpstreamAttempt;
  /** When the attempt was sent (performance.now()). */
  startedAt: number;
  response?: IncomingMessage;
  failure?: AttemptFailure;
  /** Whether the whole request had gone out before the failure. */
  sentWhole?: boolean;
  /** Whether the failure came on a socket opened for this attempt (not a reused keep-alive one). */
  freshSocket?: boolean;
  verdict?: KeyVerdict;
  /** The start of a 403 or 429 body, read before the verdict. */
  peeked?: PeekedBody;
}

/** A discarded answer is read to its end (so its socket can be reused) only when that is cheap. */
const DISCARD_MAX_BYTES = 64 * 1024;
const DISCARD_MAX_MS = 1000;
/** Error bodies are small and come at once; one that takes longer than this is cut (502). */
const BUFFERED_BODY_DEADLINE_MS = 10_000;
export const ATTEMPTS_HEADER = 'x-modelscope-balance-attempts';
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * Drops a held-back answer once another key is chosen. A short one is read
 * to its end so its socket goes back to the agent; one that is large or
 * trickles is destroyed, so a slow upstream can't hold sockets and in-flight counts.
 */
export function discardAnswer({ response, attempt, lease, peeked }: AttemptOutcome): void {
  // A body read whole (or broken) before the verdict has nothing left to read.
  if (!response || (peeked && peeked.state !== 'partial')) return lease.release();
  let read = 0;
  const giveUp = setTimeout(() => attempt.abort(), DISCARD_MAX_MS);
  response.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DISCARD_MAX_BYTES) attempt.abort();
  });
  response.once('close', () => {
    clearTimeout(giveUp);
    lease.release();
  });
  response.resume();
}

/** An upstream error on its way to the client: in the request's dialect, and marked final when waiting won't help. */
export function errorAnswer(
  status: number,
  body: Buffer,
  headers: OutgoingHttpHeaders,
  verdict: KeyVerdict | undefined,
  dialect: ErrorDialect,
): Buffer {
  let code: BalancerErrorCode | undefined;
  if (verdict?.kind === 'exhausted') code = 'daily_quota_exhausted';
  else if (verdict?.kind === 'rate_limited') code = 'rate_limited';
  else if (status >= 500) code = 'upstream_error';
  if (verdict?.kind === 'exhausted') Object.assign(headers, DONT_RETRY);
  const shaped = dialect.upstreamError(status, body, code);
  if (shaped !== body) headers['content-type'] = 'application/json; charset=utf-8';
  return shaped;
}

/** What answering needs besides the request: the pool, the clock, the scrubber, limits, and who hears of tasks. */
export interface AnswerDeps {
  pool: KeyPool;
  now: () => number;
  scrubber: KeyScrubber;
  idleMs: number;
  /** A submitted async task: its polls must go with the same key. */
  taskSubmitted(taskId: string, outcome: AttemptOutcome): void;
}

/** The request the answer is for. */
export interface AnswerTo {
  /** The client's request headers. */
  clientHeaders: IncomingHttpHeaders;
  method: string;
  res: ServerResponse;
  dialect: ErrorDialect;
  /** The balancer's own headers for the client (keys tried), sent with the answer's. */
  headers: Record<string, string>;
  /** Whether the client left (a break then says nothing against the key). */
  clientGone(): boolean;
  /** The client stopped reading and was cut off. */
  clientStalled(): void;
  tap?: RelayTap;
}

/**
 * Answers the client with the chosen outcome: our own error for a failure, a refused pool key or a used-up
 * allowance said by a 403 (none of which is about the client's request), else the upstream's answer relayed.
 */
export function answerWith(deps: AnswerDeps, to: AnswerTo, outcome: AttemptOutcome): void {
  const { res, headers, dialect } = to;
  if (outcome.failure) {
    const timedOut = isTimeout(outcome.failure);
    const how = describeFailure(outcome.failure);
    const hints = resendRepeatsGeneration(outcome, to.method) ? { ...headers, ...DONT_RETRY } : headers;
    if (timedOut)
      return sendError(res, 504, 'upstream_timeout', `The upstream did not answer in time (${how}).`, hints, dialect);
    return sendError(res, 502, 'upstream_unreachable', `The upstream could not be reached (${how}).`, hints, dialect);
  }
  if (outcome.verdict?.kind === 'refused') {
    // ModelScope refused our pool key: a 401 to the client would read as the client's own credentials being wrong.
    discardAnswer(outcome);
    const message =
      'ModelScope refused the API keys of this balancer (401/403); your own credentials are not the problem. See ' +
      '/stats.';
    return sendError(res, 503, 'pool_keys_refused', message, { ...headers, ...DONT_RETRY }, dialect);
  }
  if (outcome.verdict?.kind === 'exhausted' && outcome.response?.statusCode !== 429) {
    // A 403 that says the balance is used up: a 403 to the client would read as a permission error of its own.
    discardAnswer(outcome);
    const now = deps.now();
    const resetAt = outcome.lease.entry.account.exhaustedUntil(now) || deps.pool.nextReset(now);
    const message =
      `ModelScope says the allowance or balance of the API keys tried is used up (403); it resets at ` +
      `${new Date(resetAt).toISOString()}. See /stats.`;
    return answerUsedUp(res, resetAt, now, headers, message, dialect);
  }
  relayAnswer(deps, to, outcome);
}

/** Relays the chosen upstream answer to the client; the relay's end releases the key. */
function relayAnswer(deps: AnswerDeps, to: AnswerTo, outcome: AttemptOutcome): void {
  const response = outcome.response as IncomingMessage;
  const { lease } = outcome;
  const status = response.statusCode ?? 502;
  const asyncSubmit = status < 300 && String(to.clientHeaders['x-modelscope-async-mode']).toLowerCase() === 'true';
  const hooks: RelayHooks = {
    completed: lease.release,
    broke: () => {
      // A client that left aborted this upstream request itself: not the key's fault. Silence is the model's.
      if (!to.clientGone()) {
        const error = lastErrorForFailure(outcome.attempt.breakReason, deps.now());
        if (outcome.attempt.breakReason === 'idle_timeout') deps.pool.noted(lease.entry, error);
        else deps.pool.failed(lease.entry, error);
      }
      lease.release();
    },
    clientStalled: to.clientStalled,
  };
  if (status >= 400) hooks.finish = (body, headers) => errorAnswer(status, body, headers, outcome.verdict, to.dialect);
  else if (asyncSubmit) {
    hooks.finish = (body) => {
      const taskId = submittedTaskId(body);
      if (taskId) deps.taskSubmitted(taskId, outcome);
      return body;
    };
  }
  const relay: RelayContext = {
    scrubber: deps.scrubber,
    attempt: outcome.attempt,
    headers: to.headers,
    writeTimeoutMs: deps.idleMs,
    bodyDeadlineMs: Math.min(deps.idleMs, BUFFERED_BODY_DEADLINE_MS),
    dialect: to.dialect,
    tap: to.tap,
  };
  if (status >= 400 || asyncSubmit) bufferResponse(response, to.res, relay, hooks, outcome.peeked);
  else streamResponse(response, to.res, relay, hooks);
}
