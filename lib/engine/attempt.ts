// One attempt of a request on one key: the request goes out through the
// upstream proxy with the key's headers, and what comes back is counted and
// judged (the start of a 403 or 429 body read first). Whoever ends the
// attempt releases its lease: here, when it failed or the client left.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { lastErrorForFailure } from '../upstream/attempt-outcome.js';
import { upstreamHeaders } from '../upstream/headers.js';
import type { AttemptInput, UpstreamAttempt } from '../upstream/upstream-attempt.js';
import { isTimeout } from '../upstream/upstream-attempt.js';
import type { TimeoutOptions } from '../options/options.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { type JudgeDeps, judgeAnswer } from './answer-verdict.js';
import type { AttemptOutcome } from './chosen-answer.js';
import { PEEKED_STATUSES, type PeekedBody, peekErrorBody } from './error-peek.js';
import type { KeyLease } from './key-lease.js';

/** What carries an attempt upstream: one http-proxy-middleware handler (see upstream/upstream-proxy.ts). */
export interface AttemptSender {
  send(req: IncomingMessage, res: ServerResponse, input: AttemptInput): UpstreamAttempt;
}

export interface AttemptDeps extends JudgeDeps {
  proxy: AttemptSender;
  /** The upstream's Host header. */
  host: string;
  timeouts: TimeoutOptions;
  forwardClientAddress: boolean;
  /** An attempt is going out with `entry` (the fleet's request counts). */
  sent(entry: PoolEntry): void;
}

/** The request an attempt is made for. */
export interface AttemptRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly id: string;
  readonly method: string;
  readonly clientHeaders: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly clientGone: boolean;
  /** The request's model, read from the body when first asked. */
  modelName(): string | undefined;
  /** The attempt under way: aborted when the client leaves. */
  current: UpstreamAttempt | undefined;
}

/**
 * Sends the request with the lease's key, waiting at most `msLeft` for the answer's headers. Resolves with the
 * answer and its verdict, or the failure; with `failure: 'aborted'` when the client left meanwhile.
 */
export async function attemptWith(
  deps: AttemptDeps,
  request: AttemptRequest,
  lease: KeyLease,
  path: string,
  msLeft: number,
): Promise<AttemptOutcome> {
  const { entry } = lease;
  deps.sent(entry);
  const headers = upstreamHeaders({
    clientHeaders: request.clientHeaders,
    host: deps.host,
    key: entry.key,
    method: request.method,
    bodyLength: request.body.length,
    useApiKeyHeader: request.clientHeaders['x-api-key'] !== undefined,
    clientAddress: deps.forwardClientAddress ? request.req.socket.remoteAddress : undefined,
  });
  headers['x-request-id'] = request.id;
  const { timeouts } = deps;
  const startedAt = performance.now();
  const attempt = deps.proxy.send(request.req, request.res, {
    path,
    body: request.body,
    headers,
    timeouts: {
      connectMs: Math.min(timeouts.connectMs, msLeft),
      firstByteMs: Math.min(timeouts.firstByteMs, msLeft),
      idleMs: timeouts.idleMs,
    },
  });
  request.current = attempt;
  const result = await attempt.result;
  if (request.clientGone) return abandoned(lease, attempt, startedAt);
  if (result.kind === 'failure') {
    entry.tallies.countResponse(isTimeout(result.failure) ? 'timeout' : 'error');
    const error = lastErrorForFailure(result.failure, deps.now());
    // A slow answer is the model's doing, not the key's: shown in /stats, never fed to the breaker.
    if (result.failure === 'first_byte_timeout') deps.pool.noted(entry, error);
    else deps.pool.failed(entry, error);
    lease.release();
    const { failure, sentWhole, freshSocket } = result;
    return { lease, attempt, startedAt, failure, sentWhole, freshSocket };
  }
  const { response } = result;
  const status = response.statusCode ?? 502;
  entry.tallies.countResponse(String(status));
  entry.tallies.observeLatency((performance.now() - startedAt) / 1000);
  let peeked: PeekedBody | undefined;
  if (PEEKED_STATUSES.has(status)) {
    peeked = await peekErrorBody(response, attempt);
    if (request.clientGone) return abandoned(lease, attempt, startedAt);
  }
  const verdict = judgeAnswer(deps, entry, response, peeked, () => request.modelName());
  return { lease, attempt, startedAt, response, verdict, peeked };
}

/** The client left while the attempt was under way: the upstream request ends now, and so does the lease. */
function abandoned(lease: KeyLease, attempt: UpstreamAttempt, startedAt: number): AttemptOutcome {
  attempt.abort();
  lease.release();
  return { lease, attempt, startedAt, failure: 'aborted' };
}
