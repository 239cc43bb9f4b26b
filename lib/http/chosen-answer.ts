// The answer chosen for a client: relayed (streamed, or read whole when it is
// an error to reshape or an async submission to remember), or dropped when
// another key's answer is chosen instead.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { PoolEntry } from '../pool/pool-entry.js';
import { type KeyVerdict, lastErrorForFailure } from '../upstream/attempt-outcome.js';
import type { AttemptFailure, UpstreamAttempt } from '../upstream/upstream-attempt.js';
import { submittedTaskId } from '../pool/task-affinity.js';
import type { BalancerContext } from './context.js';
import type { PeekedBody } from './error-peek.js';
import type { BalancerErrorCode } from './error-response.js';
import { DONT_RETRY } from './no-key-answer.js';
import { bufferResponse, type RelayContext, type RelayHooks, streamResponse } from './response-relay.js';
import { openAiErrorBody } from './upstream-error.js';
import { answersInAnthropic, toAnthropicErrorBody } from '../dialect/anthropic.js';

/** An attempt whose answer was held back while another key was looked for. */
export interface Pending {
  entry: PoolEntry;
  attempt: UpstreamAttempt;
  response?: IncomingMessage;
  failure?: AttemptFailure;
  /** Whether the whole request had gone out before the failure. */
  sentWhole?: boolean;
  /** Whether the failure came on a socket opened for this attempt (not a reused keep-alive one). */
  freshSocket?: boolean;
  verdict?: KeyVerdict;
  /** The start of a 403 or 429 body, read before the verdict. */
  peeked?: PeekedBody;
  release: () => void;
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
export function discardAnswer(pending: Pending): void {
  const { response, attempt, release, peeked } = pending;
  // A body read whole (or broken) before the verdict has nothing left to read.
  if (!response || (peeked && peeked.state !== 'partial')) return release();
  let read = 0;
  const giveUp = setTimeout(() => attempt.abort(), DISCARD_MAX_MS);
  response.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > DISCARD_MAX_BYTES) attempt.abort();
  });
  response.once('close', () => {
    clearTimeout(giveUp);
    release();
  });
  response.resume();
}

/** An upstream error on its way to the client: in the client's dialect, and marked final when waiting won't help. */
export function errorAnswer(
  status: number,
  body: Buffer,
  headers: OutgoingHttpHeaders,
  verdict: KeyVerdict | undefined,
  anthropic = false,
): Buffer {
  const code: BalancerErrorCode | undefined =
    verdict?.kind === 'exhausted'
      ? 'daily_quota_exhausted'
      : verdict?.kind === 'rate_limited'
        ? 'rate_limited'
        : status >= 500
          ? 'upstream_error'
          : undefined;
  if (verdict?.kind === 'exhausted') Object.assign(headers, DONT_RETRY);
  const shaped = anthropic ? toAnthropicErrorBody(status, body, code) : openAiErrorBody(status, body, code);
  if (shaped !== body) headers['content-type'] = 'application/json; charset=utf-8';
  return shaped;
}

export interface ChosenAnswer {
  ctx: BalancerContext;
  /** The client's request headers. */
  clientHeaders: IncomingHttpHeaders;
  res: ServerResponse;
  outcome: Pending;
  /** The balancer's own headers for the client (keys tried), sent with the answer's. */
  headers: Record<string, string>;
  /** Whether the client left (a break then says nothing against the key). */
  clientGone(): boolean;
  /** The client stopped reading and was cut off. */
  clientStalled(): void;
}

/** Relays the chosen upstream answer to the client. */
export function relayChosenAnswer({
  ctx,
  clientHeaders,
  res,
  outcome,
  headers,
  clientGone,
  clientStalled,
}: ChosenAnswer): void {
  const response = outcome.response as IncomingMessage;
  const status = response.statusCode ?? 502;
  const asyncSubmit = status < 300 && String(clientHeaders['x-modelscope-async-mode']).toLowerCase() === 'true';
  const hooks: RelayHooks = {
    completed: outcome.release,
    broke: () => {
      // A client that left aborted this upstream request itself: not the key's fault. Silence is the model's.
      if (!clientGone()) {
        const error = lastErrorForFailure(outcome.attempt.breakReason, ctx.config.now());
        if (outcome.attempt.breakReason === 'idle_timeout') ctx.pool.noted(outcome.entry, error);
        else ctx.pool.failed(outcome.entry, error);
      }
      outcome.release();
    },
    clientStalled,
    finish:
      status >= 400
        ? (body, headers) => errorAnswer(status, body, headers, outcome.verdict, answersInAnthropic(res.req))
        : asyncSubmit
          ? (body) => {
              const taskId = submittedTaskId(body);
              if (taskId) {
                ctx.tasks.remember(taskId, outcome.entry, ctx.config.now());
                ctx.shared.rememberTask(taskId, outcome.entry, ctx.config.taskAffinity.ttlMs);
              }
              return body;
            }
          : undefined,
  };
  const { idleMs } = ctx.config.timeouts;
  const relay: RelayContext = {
    scrubber: ctx.scrubber,
    attempt: outcome.attempt,
    headers,
    writeTimeoutMs: idleMs,
    bodyDeadlineMs: Math.min(idleMs, BUFFERED_BODY_DEADLINE_MS),
  };
  if (status >= 400 || asyncSubmit) bufferResponse(response, res, relay, hooks, outcome.peeked);
  else streamResponse(response, res, relay, hooks);
}
