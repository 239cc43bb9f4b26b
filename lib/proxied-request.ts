import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeFailure, lastErrorForFailure, lastErrorForStatus, verdictForStatus, type KeyVerdict } from './attempt-outcome.js';
import { hasModelQuotaHeaders } from './account-quota.js';
import type { BalancerContext } from './context.js';
import { sendError } from './error-response.js';
import { upstreamHeaders } from './headers.js';
import type { PoolEntry } from './pool-entry.js';
import type { NoKeyReason } from './pool.js';
import { modelOf, readRequestBody } from './request-body.js';
import { bufferResponse, streamResponse, type RelayContext } from './response-relay.js';
import { polledTaskId, submittedTaskId } from './task-affinity.js';
import { isTimeout, type AttemptFailure, type UpstreamAttempt } from './upstream-attempt.js';
import { upstreamPath } from './upstream-path.js';
import { stripExpect } from './upstream-proxy.js';

/** An attempt whose answer was held back while another key was looked for. */
interface Pending {
  entry: PoolEntry;
  attempt: UpstreamAttempt;
  response?: IncomingMessage;
  failure?: AttemptFailure;
  release: () => void;
}

/** A discarded answer is read to its end (so its socket can be reused) only when that is cheap. */
const DISCARD_MAX_BYTES = 64 * 1024;
const DISCARD_MAX_MS = 1000;

function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One client request on its way through the pool: reads the body once, tries
 * keys until one answers acceptably (or attempts run out), then relays that
 * answer. Nothing reaches the client before the answer to relay is chosen,
 * which is what makes failover safe.
 */
export class ProxiedRequest {
  private readonly tried = new Set<PoolEntry>();
  private clientGone = false;
  private current: UpstreamAttempt | undefined;
  private body: Buffer = Buffer.alloc(0);
  private model: string | undefined | null = null;
  private readonly startedAt = performance.now();
  private finalEntry: PoolEntry | undefined;

  constructor(
    private readonly ctx: BalancerContext,
    private readonly req: IncomingMessage & { body?: unknown },
    private readonly res: ServerResponse,
  ) {}

  async run(): Promise<void> {
    const { res, req, ctx } = this;
    res.once('close', () => {
      if (!res.writableFinished) {
        this.clientGone = true;
        this.current?.abort();
      }
      this.logDone();
    });
    const path = upstreamPath(ctx.config.target.pathname, req.url ?? '/');
    if (path === undefined) {
      sendError(res, 400, 'bad_path', 'The request path has dot segments, encoded slashes or backslashes; send a plain path such as /v1/chat/completions.');
      return;
    }
    const read = await readRequestBody(req, ctx.config.maxBodyBytes);
    if (this.clientGone) return;
    if (!read.ok) {
      sendError(res, read.status, read.status === 413 ? 'request_too_large' : 'bad_request', read.message, { connection: 'close' });
      return;
    }
    this.body = read.body;
    stripExpect(req);
    await this.forward(path);
  }

  /** The request's model, parsed from the body at most once and only when asked. */
  private modelName(): string | undefined {
    if (this.model === null) this.model = modelOf(this.body, this.req.headers['content-type']);
    return this.model;
  }

  private async forward(path: string): Promise<void> {
    const { ctx, req } = this;
    const method = req.method ?? 'GET';
    const taskId = polledTaskId(method, path);
    const pinned = taskId === undefined ? undefined : ctx.tasks.lookup(taskId, ctx.config.now());
    const maxAttempts = pinned ? 1 : Math.min(ctx.config.retry.attempts, ctx.pool.entries.length);
    const queueDeadline = performance.now() + ctx.config.queueTimeoutMs;
    let pending: Pending | undefined;
    for (;;) {
      const entry = pinned ?? (this.tried.size < maxAttempts ? ctx.pool.select({ exclude: this.tried, model: this.modelForSelection() }) : undefined);
      if (!entry) {
        if (pending) return this.commit(pending);
        const reason = ctx.pool.whyNone(this.modelForSelection());
        const waited = await this.waitForCoolingKey(reason, queueDeadline);
        if (this.clientGone) return;
        if (waited) continue;
        return this.answerNoKey(reason);
      }
      if (pending) this.discard(pending);
      pending = undefined;
      const outcome = await this.tryKey(entry, method, path);
      if (!outcome) return;
      const retryable = !pinned && this.tried.size < maxAttempts && this.isRetryable(outcome);
      if (!retryable) return this.commit(outcome);
      ctx.metrics.retries.inc({ reason: outcome.failure ?? String(outcome.response?.statusCode) });
      pending = outcome;
    }
  }

  /** Only look at the model when some account has per-model figures: most requests never parse their body. */
  private modelForSelection(): string | undefined {
    return this.ctx.pool.tracksModels() ? this.modelName() : undefined;
  }

  private isRetryable(outcome: Pending): boolean {
    if (outcome.failure) return true;
    const status = outcome.response?.statusCode ?? 0;
    return status === 401 || status === 403 || this.ctx.config.retry.on.has(status);
  }

  /** One attempt on `entry`; undefined when the client left meanwhile. */
  private async tryKey(entry: PoolEntry, method: string, path: string): Promise<Pending | undefined> {
    const { ctx, req } = this;
    this.tried.add(entry);
    this.finalEntry = entry;
    const trial = ctx.pool.begin(entry);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      ctx.pool.end(entry, trial);
    };
    const sentAt = performance.now();
    const attempt = ctx.proxy.send(req, this.res, {
      path,
      body: this.body,
      timeouts: ctx.config.timeouts,
      headers: upstreamHeaders({
        clientHeaders: req.headers,
        host: ctx.config.target.host,
        key: entry.key,
        method,
        bodyLength: this.body.length,
        useApiKeyHeader: req.headers['x-api-key'] !== undefined,
        clientAddress: ctx.config.forwardClientAddress ? req.socket.remoteAddress : undefined,
      }),
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
      ctx.pool.failed(entry, lastErrorForFailure(result.failure, now));
      release();
      return { entry, attempt, failure: result.failure, release };
    }
    const { response } = result;
    const status = response.statusCode ?? 502;
    entry.tallies.countResponse(String(status));
    entry.tallies.observeLatency((performance.now() - sentAt) / 1000);
    const model = hasModelQuotaHeaders(response.headers) ? this.modelName() : undefined;
    ctx.pool.recordQuota(entry, response.headers, model);
    this.applyVerdict(entry, verdictForStatus(status, response.headers, now), status);
    return { entry, attempt, response, release };
  }

  private applyVerdict(entry: PoolEntry, verdict: KeyVerdict, status: number): void {
    const { pool, config } = this.ctx;
    const error = lastErrorForStatus(status, config.now());
    switch (verdict.kind) {
      case 'success': return pool.succeeded(entry);
      case 'refused': return pool.refused(entry, error);
      case 'failed': return pool.failed(entry, error);
      case 'rate_limited': return pool.rateLimited(entry, verdict.retryAfterMs, error);
      case 'exhausted': return pool.exhausted(entry, verdict.scope === 'model' ? this.modelName() : undefined, error);
      default:
    }
  }

  /**
   * Drops a held-back answer once another key is chosen. A short one is read
   * to its end so its socket goes back to the agent; one that is large or
   * trickles is destroyed, so a slow upstream can't hold sockets and in-flight counts.
   */
  private discard(pending: Pending): void {
    const { response, attempt, release } = pending;
    if (!response) return release();
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

  private commit(outcome: Pending): void {
    const { res, ctx } = this;
    if (outcome.failure) {
      const timedOut = isTimeout(outcome.failure);
      sendError(res, timedOut ? 504 : 502, timedOut ? 'upstream_timeout' : 'upstream_unreachable',
        timedOut ? `The upstream did not answer in time (${describeFailure(outcome.failure)}).` : 'The upstream could not be reached.');
      return;
    }
    const response = outcome.response as IncomingMessage;
    const status = response.statusCode ?? 502;
    const asyncSubmit = status < 300 && String(this.req.headers['x-modelscope-async-mode']).toLowerCase() === 'true';
    const hooks = {
      completed: outcome.release,
      broke: () => {
        // A client that left aborted this upstream request itself: not the key's fault.
        if (!this.clientGone) ctx.pool.failed(outcome.entry, lastErrorForFailure(outcome.attempt.breakReason, ctx.config.now()));
        outcome.release();
      },
      clientStalled: () => {
        this.clientGone = true;
      },
      finish: asyncSubmit ? (body: Buffer) => {
        const taskId = submittedTaskId(body);
        if (taskId) ctx.tasks.remember(taskId, outcome.entry, ctx.config.now());
        return body;
      } : undefined,
    };
    const relay: RelayContext = { scrubber: ctx.scrubber, attempt: outcome.attempt, writeTimeoutMs: ctx.config.timeouts.idleMs };
    if (status >= 400 || asyncSubmit) bufferResponse(response, res, relay, hooks);
    else streamResponse(response, res, relay, hooks);
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
    const { ctx, res } = this;
    ctx.metrics.noKeyAvailable.inc({ reason: reason.kind });
    if (reason.kind === 'unavailable') {
      sendError(res, 503, 'no_key_available', 'No API key can take requests now: every key is unhealthy or refused by ModelScope. See /stats.');
      return;
    }
    const seconds = String(Math.max(1, Math.ceil((reason.retryAt - ctx.config.now()) / 1000)));
    if (reason.kind === 'cooling') {
      sendError(res, 429, 'all_keys_cooling', `Every API key is rate limited; the first returns in ${seconds} s.`, { 'retry-after': seconds });
    } else {
      sendError(res, 429, 'daily_quota_exhausted',
        `The daily quota of every API key is used up; it resets at ${new Date(reason.retryAt).toISOString()}.`, { 'retry-after': seconds });
    }
  }

  private logDone(): void {
    const { req, res, ctx } = this;
    if (!ctx.logsRequests()) return;
    const path = (req.url ?? '/').split('?', 1)[0];
    ctx.logger.info({
      method: req.method, path, status: this.clientGone ? 499 : res.statusCode,
      key: this.finalEntry?.label ?? null, attempts: this.tried.size,
      ms: Math.round((performance.now() - this.startedAt) * 10) / 10,
    }, this.clientGone ? 'client closed the request' : 'proxied');
  }
}
