// One client request on its way through the pool: reads the body once, tries
// keys until one answers acceptably (or attempts or time run out), then relays
// that answer. Nothing reaches the client before the answer to relay is
// chosen, which is what makes failover safe.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { describeFailure, lastErrorForFailure } from '../upstream/attempt-outcome.js';
import { judgeAnswer } from './answer-verdict.js';
import { ATTEMPTS_HEADER, REQUEST_ID_HEADER, discardAnswer, type Pending, relayChosenAnswer } from './chosen-answer.js';
import type { BalancerContext } from './context.js';
import { PEEKED_STATUSES, type PeekedBody, peekErrorBody } from './error-peek.js';
import { sendError, type BalancerErrorCode } from '../answers/error-response.js';
import { upstreamHeaders } from '../upstream/headers.js';
import { answerNoKey, answerUsedUp, DONT_RETRY } from '../answers/no-key-answer.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { NoKeyReason } from '../pool/pool.js';
import { modelOf, readRequestBody } from './request-body.js';
import { failoverAllowed, resendRepeatsGeneration } from './retry-rules.js';
import { polledTaskId } from '../pool/task-affinity.js';
import { isTimeout, type UpstreamAttempt } from '../upstream/upstream-attempt.js';
import { upstreamPath } from '../upstream/upstream-path.js';

/** The methods ModelScope's API serves; anything else is answered here, never forwarded. */
const FORWARDED_METHODS = new Set(['GET', 'HEAD', 'POST']);

function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class ProxiedRequest {
  /** The keys (secrets, not entries: an entry may be replaced meanwhile) this request has tried. */
  private readonly tried = new Set<string>();
  private clientGone = false;
  private current: UpstreamAttempt | undefined;
  private body: Buffer = Buffer.alloc(0);
  private heldBytes = 0;
  private model: string | undefined | null = null;
  private readonly startedAt = performance.now();
  private finalEntry: PoolEntry | undefined;
  private readonly requestId: string;
  private readonly clientHeaders: IncomingHttpHeaders;

  constructor(
    private readonly ctx: BalancerContext,
    private readonly req: IncomingMessage & { body?: unknown },
    private readonly res: ServerResponse,
  ) {
    // Read once: while http-proxy copies an attempt's headers, `req.headers` briefly holds those (see UpstreamProxy).
    this.clientHeaders = req.headers;
    const given = req.headers['x-request-id'];
    this.requestId = typeof given === 'string' && /^[\x21-\x7e]{1,200}$/.test(given) ? given : randomUUID();
  }

  async run(): Promise<void> {
    const { res, req, ctx } = this;
    res.once('close', () => {
      if (!res.writableFinished) {
        this.clientGone = true;
        this.current?.abort();
      }
      ctx.bodies.give(this.heldBytes);
      this.logDone();
    });
    // Set now, not with the answer: the host app's own middleware (a request logger) can read it at any time.
    res.setHeader(REQUEST_ID_HEADER, this.requestId);
    const method = req.method ?? 'GET';
    if (!FORWARDED_METHODS.has(method)) {
      sendError(
        res,
        405,
        'method_not_allowed',
        `ModelScope's API takes GET and POST; ${method.slice(0, 20)} is not forwarded.`,
        { allow: 'GET, HEAD, POST' },
      );
      return;
    }
    const path = upstreamPath(ctx.config.target.pathname, req.url ?? '/');
    if (path === undefined) {
      sendError(
        res,
        400,
        'bad_path',
        'The request path has dot segments, encoded slashes or backslashes; send a plain path such as ' +
          '/v1/chat/completions.',
      );
      return;
    }
    const read = await readRequestBody(req, ctx.config.maxBodyBytes, (bytes) => {
      if (!ctx.bodies.take(bytes)) return false;
      this.heldBytes += bytes;
      return true;
    });
    if (this.clientGone) return;
    if (!read.ok) {
      const code = read.status === 413 ? 'request_too_large' : read.status === 503 ? 'server_busy' : 'bad_request';
      sendError(
        res,
        read.status,
        code,
        read.message,
        read.status === 503 ? { 'retry-after': '1', connection: 'close' } : { connection: 'close' },
      );
      return;
    }
    this.body = read.body;
    await this.forward(method, path);
  }

  /** The request's model, parsed from the body at most once and only when asked. */
  private modelName(): string | undefined {
    if (this.model === null) this.model = modelOf(this.body, this.clientHeaders['content-type']);
    return this.model;
  }

  private async forward(method: string, path: string): Promise<void> {
    const { ctx, req } = this;
    const taskId = polledTaskId(method, req.url ?? '/');
    let remembered = taskId === undefined ? undefined : ctx.tasks.lookup(taskId, ctx.config.now());
    // Submitted through another replica (or before a restart): one store lookup.
    if (taskId !== undefined && !remembered) remembered = await ctx.shared.lookupTask(taskId);
    if (this.clientGone) return;
    // A task whose key has since been removed from the pool is not sent with that key again.
    const pinned = remembered && ctx.pool.get(remembered.key);
    const maxAttempts = pinned ? 1 : Math.min(ctx.config.retry.attempts, ctx.pool.entries.length);
    // http-proxy adds two listeners to the client request per attempt.
    if (maxAttempts > 4) req.setMaxListeners(maxAttempts * 2 + 10);
    const queueDeadline = this.startedAt + ctx.config.queueTimeoutMs;
    const deadline = this.startedAt + ctx.config.timeouts.totalMs;
    let pending: Pending | undefined;
    for (;;) {
      const left = deadline - performance.now();
      const entry =
        left <= 0
          ? undefined
          : (pinned ??
            (this.tried.size < maxAttempts
              ? ctx.pool.select({ exclude: this.tried, model: this.modelForSelection() })
              : undefined));
      if (pending && (!entry || left <= 0)) return this.commit(pending);
      if (left <= 0)
        return this.answerError(504, 'upstream_timeout', 'No answer within the request deadline (timeouts.totalMs).');
      if (!entry) {
        const reason = ctx.pool.whyNone(this.modelForSelection());
        const waited = await this.waitForCoolingKey(reason, queueDeadline);
        if (this.clientGone) return;
        if (waited) continue;
        return this.answerNoKey(reason);
      }
      if (!pinned && entry.state.status === 'invalid' && !(await this.claimTrial(entry))) {
        if (this.clientGone) return;
        continue;
      }
      if (pending) discardAnswer(pending);
      pending = undefined;
      const outcome = await this.tryKey(entry, method, path, left);
      if (!outcome) return;
      const retryable = !pinned && this.tried.size < maxAttempts && failoverAllowed(outcome, method, ctx.config.retry);
      if (!retryable) return this.commit(outcome);
      ctx.metrics.retries.inc({ reason: outcome.failure ?? String(outcome.response?.statusCode) });
      pending = outcome;
    }
  }

  /**
   * A refused key's trial request is one per fleet per period: claimed through the store (a bounded wait; the trial
   * is this replica's alone when the store can't say). Meanwhile no other request here picks the key.
   */
  private async claimTrial(entry: PoolEntry): Promise<boolean> {
    const { ctx } = this;
    entry.state.trialInFlight = true;
    const claimed = await ctx.shared.claimTrial(entry, ctx.config.invalidKeyRetryMs);
    entry.state.trialInFlight = false;
    if (!claimed) ctx.pool.deferTrial(entry);
    return claimed && !this.clientGone;
  }

  /** Only look at the model when some account has per-model figures: most requests never parse their body. */
  private modelForSelection(): string | undefined {
    return this.ctx.pool.tracksModels() ? this.modelName() : undefined;
  }

  /** One attempt on `entry`; undefined when the client left meanwhile. */
  private async tryKey(entry: PoolEntry, method: string, path: string, msLeft: number): Promise<Pending | undefined> {
    const { ctx, req } = this;
    this.tried.add(entry.key);
    this.finalEntry = entry;
    const trial = ctx.pool.begin(entry);
    ctx.shared.counted(entry);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      ctx.pool.end(entry, trial);
    };
    const { timeouts } = ctx.config;
    const headers = upstreamHeaders({
      clientHeaders: this.clientHeaders,
      host: ctx.config.target.host,
      key: entry.key,
      method,
      bodyLength: this.body.length,
      useApiKeyHeader: this.clientHeaders['x-api-key'] !== undefined,
      clientAddress: ctx.config.forwardClientAddress ? req.socket.remoteAddress : undefined,
    });
    headers['x-request-id'] = this.requestId;
    const sentAt = performance.now();
    const attempt = ctx.proxy.send(req, this.res, {
      path,
      body: this.body,
      headers,
      timeouts: {
        connectMs: Math.min(timeouts.connectMs, msLeft),
        firstByteMs: Math.min(timeouts.firstByteMs, msLeft),
        idleMs: timeouts.idleMs,
      },
    });
    this.current = attempt;
    const result = await attempt.result;
    if (this.clientGone) {
      attempt.abort();
      release();
      return undefined;
    }
    const now = ctx.config.now();
    if (result.kind === 'failure') {
      entry.tallies.countResponse(isTimeout(result.failure) ? 'timeout' : 'error');
      const error = lastErrorForFailure(result.failure, now);
      // A slow answer is the model's doing, not the key's: shown in /stats, never fed to the breaker.
      if (result.failure === 'first_byte_timeout') ctx.pool.noted(entry, error);
      else ctx.pool.failed(entry, error);
      release();
      return {
        entry,
        attempt,
        failure: result.failure,
        sentWhole: result.sentWhole,
        freshSocket: result.freshSocket,
        release,
      };
    }
    const { response } = result;
    const status = response.statusCode ?? 502;
    entry.tallies.countResponse(String(status));
    entry.tallies.observeLatency((performance.now() - sentAt) / 1000);
    let peeked: PeekedBody | undefined;
    if (PEEKED_STATUSES.has(status)) {
      peeked = await peekErrorBody(response, attempt);
      if (this.clientGone) {
        attempt.abort();
        release();
        return undefined;
      }
    }
    const verdict = judgeAnswer(ctx, entry, response, peeked, () => this.modelName());
    return { entry, attempt, response, verdict, peeked, release };
  }

  private answerError(
    status: number,
    code: BalancerErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    sendError(this.res, status, code, message, { ...headers, ...this.ownHeaders() });
  }

  /** What every answer after an attempt carries besides the request id (set on the response from the start). */
  private ownHeaders(): Record<string, string> {
    return { [ATTEMPTS_HEADER]: String(this.tried.size) };
  }

  private commit(outcome: Pending): void {
    const { res, ctx } = this;
    if (outcome.failure) {
      const timedOut = isTimeout(outcome.failure);
      return this.answerError(
        timedOut ? 504 : 502,
        timedOut ? 'upstream_timeout' : 'upstream_unreachable',
        timedOut
          ? `The upstream did not answer in time (${describeFailure(outcome.failure)}).`
          : `The upstream could not be reached (${describeFailure(outcome.failure)}).`,
        resendRepeatsGeneration(outcome, this.req.method ?? 'GET') ? DONT_RETRY : {},
      );
    }
    if (outcome.verdict?.kind === 'refused') {
      // ModelScope refused our pool key: a 401 to the client would read as the client's own credentials being wrong.
      discardAnswer(outcome);
      return this.answerError(
        503,
        'pool_keys_refused',
        'ModelScope refused the API keys of this balancer (401/403); your own credentials are not the problem. See ' +
          '/stats.',
        DONT_RETRY,
      );
    }
    if (outcome.verdict?.kind === 'exhausted' && outcome.response?.statusCode !== 429) {
      // A 403 that says the balance is used up: a 403 to the client would read as a permission error of its own.
      discardAnswer(outcome);
      const now = ctx.config.now();
      const resetAt = outcome.entry.account.exhaustedUntil(now) || ctx.pool.nextReset(now);
      return answerUsedUp(
        res,
        resetAt,
        now,
        this.ownHeaders(),
        `ModelScope says the allowance or balance of the API keys tried is used up (403); it resets at ` +
          `${new Date(resetAt).toISOString()}. See /stats.`,
      );
    }
    relayChosenAnswer({
      ctx,
      clientHeaders: this.clientHeaders,
      res,
      outcome,
      headers: this.ownHeaders(),
      clientGone: () => this.clientGone,
      clientStalled: () => {
        this.clientGone = true;
      },
    });
  }

  /** With every key cooling down, waits (up to queueTimeoutMs in all) for the first to return. */
  private async waitForCoolingKey(reason: NoKeyReason, deadline: number): Promise<boolean> {
    if (reason.kind !== 'cooling' || this.tried.size > 0) return false;
    const untilReturn = reason.retryAt - this.ctx.config.now();
    const left = deadline - performance.now();
    if (left <= 0 || untilReturn > left) return false;
    await waitMs(Math.max(untilReturn, 1));
    return !this.clientGone;
  }

  private answerNoKey(reason: NoKeyReason): void {
    this.ctx.metrics.noKeyAvailable.inc({ reason: reason.kind });
    answerNoKey(this.res, reason, this.ctx.config.now(), this.ownHeaders());
  }

  private logDone(): void {
    const { req, res, ctx } = this;
    if (!ctx.logsRequests()) return;
    const path = (req.url ?? '/').split('?', 1)[0];
    ctx.logger.info(
      {
        method: req.method,
        path,
        status: this.clientGone ? 499 : res.statusCode,
        key: this.finalEntry?.label ?? null,
        attempts: this.tried.size,
        request_id: ctx.scrubber.scrub(this.requestId),
        ms: Math.round((performance.now() - this.startedAt) * 10) / 10,
      },
      this.clientGone ? 'client closed the request' : 'proxied',
    );
  }
}
