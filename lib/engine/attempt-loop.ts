// The failover loop of one request: pick a key, lease it, send, judge the
// answer, then either answer with it or hold it and try the next key. A held
// answer is dropped once another key answers, and answered when no key or
// no time is left. Nothing reaches the client before the answer is chosen,
// which is what makes failover safe.
import type { RouteWalk } from '../model-routes/route-walk.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { KeyPool, NoKeyReason } from '../pool/pool.js';
import type { TaskAffinity } from '../pool/task-affinity.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import { type AttemptDeps, type AttemptRequest, attemptWith } from './attempt.js';
import { type AttemptOutcome, discardAnswer } from './chosen-answer.js';
import type { AttemptVerdict, BalancerEvents, Emitter } from './events.js';
import { leaseKey } from './key-lease.js';
import { failoverAllowed } from './retry-rules.js';
import { polledTaskId } from './task-ids.js';

/** What other replicas know: which key submitted a task, and who sends a refused key's one trial. */
export interface Fleet {
  lookupTask(taskId: string): Promise<PoolEntry | undefined>;
  claimTrial(entry: PoolEntry, periodMs: number): Promise<boolean>;
}

export interface LoopDeps extends AttemptDeps {
  pool: KeyPool;
  tasks: TaskAffinity;
  fleet: Fleet;
  retry: ResolvedConfig['retry'];
  queueTimeoutMs: number;
  totalMs: number;
  invalidKeyRetryMs: number;
  events: Emitter<BalancerEvents>;
  /** A request moved on to another key, and why (a status code, or how the attempt failed). */
  failedOver(reason: string): void;
}

export interface LoopRequest extends AttemptRequest {
  /** When the request arrived (performance.now()): its deadlines count from here. */
  readonly startedAt: number;
  /** The URL relative to the mount point. */
  readonly url: string;
  /** The keys (secrets, not entries: an entry may be replaced meanwhile) this request has tried. */
  readonly tried: Set<string>;
  /** The last key tried. */
  lastEntry: PoolEntry | undefined;
  /** Upstream calls made (a route may call one key once per model): a client's usage counts them. */
  upstreamCalls: number;
  /** The model route the request follows, when its model names one: it picks the model and the key. */
  readonly route?: RouteWalk;
}

/** How the loop ended: with an answer to give, out of time, with no key to try, or with the client gone. */
export type LoopEnd =
  | { kind: 'answer'; outcome: AttemptOutcome }
  | { kind: 'timeout' }
  | { kind: 'no_key'; reason: NoKeyReason }
  | { kind: 'client_gone' };

const CLIENT_GONE: LoopEnd = { kind: 'client_gone' };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The verdict an attempt event reports. */
function verdictOf(outcome: AttemptOutcome): AttemptVerdict {
  const { verdict, failure } = outcome;
  if (verdict?.kind === 'exhausted') return verdict.scope === 'model' ? 'model_exhausted' : 'exhausted';
  if (verdict) return verdict.kind;
  if (failure === 'aborted') return 'aborted';
  return failure === 'first_byte_timeout' ? 'slow' : 'failed';
}

export class AttemptLoop {
  /** A polled async task's key: the only one its poll may go with. */
  private pinned: PoolEntry | undefined;
  private maxAttempts = 0;

  constructor(
    private readonly deps: LoopDeps,
    private readonly request: LoopRequest,
    private readonly path: string,
  ) {}

  async run(): Promise<LoopEnd> {
    const { deps, request } = this;
    const taskId = polledTaskId(request.method, request.url);
    if (taskId !== undefined) await this.pinTask(taskId);
    if (request.clientGone) return CLIENT_GONE;
    this.maxAttempts = this.pinned ? 1 : Math.min(deps.retry.attempts, deps.pool.entries.length);
    // http-proxy adds two listeners to the client request per attempt.
    if (this.maxAttempts > 4) request.req.setMaxListeners(this.maxAttempts * 2 + 10);
    const deadline = request.startedAt + deps.totalMs;
    let held: AttemptOutcome | undefined;
    for (;;) {
      const msLeft = deadline - performance.now();
      if (msLeft <= 0) return held ? { kind: 'answer', outcome: held } : { kind: 'timeout' };
      const entry = this.nextKey();
      if (!entry) {
        if (held) return { kind: 'answer', outcome: held };
        const reason = request.route ? request.route.whyNone() : deps.pool.whyNone(this.selectionModel());
        if (await this.waitedForCoolingKey(reason)) continue;
        return request.clientGone ? CLIENT_GONE : { kind: 'no_key', reason };
      }
      if (this.needsTrialClaim(entry) && !(await this.claimedTrial(entry))) {
        if (!request.clientGone) continue;
        // The answer held for a failover would otherwise keep its key's lease for good.
        if (held) discardAnswer(held);
        return CLIENT_GONE;
      }
      if (held) discardAnswer(held);
      held = undefined;
      request.tried.add(entry.key);
      request.lastEntry = entry;
      request.upstreamCalls++;
      const outcome = await attemptWith(deps, request, leaseKey(deps.pool, entry), this.path, msLeft);
      request.route?.attempted(entry.key, verdictOf(outcome) === 'model_exhausted');
      const next = request.clientGone ? 'client_gone' : this.mayFailOver(outcome) ? 'failover' : 'answer';
      this.reportAttempt(outcome, next);
      if (next === 'client_gone') return CLIENT_GONE;
      if (next === 'answer') return { kind: 'answer', outcome };
      deps.failedOver(outcome.failure ?? String(outcome.response?.statusCode));
      held = outcome;
    }
  }

  /** A poll of an async task goes with the key that submitted it, when this replica or the fleet knows it. */
  private async pinTask(taskId: string): Promise<void> {
    const { deps } = this;
    // Submitted through another replica (or before a restart): one store lookup.
    const remembered = deps.tasks.lookup(taskId, deps.now()) ?? (await deps.fleet.lookupTask(taskId));
    // A task whose key has since been removed from the pool is not sent with that key again.
    this.pinned = remembered && deps.pool.get(remembered.key);
  }

  /** The key to try next: the pinned one, or the pool's pick among keys not tried yet while attempts are left. */
  private nextKey(): PoolEntry | undefined {
    if (this.pinned) return this.pinned;
    const { route } = this.request;
    if (route) return route.attempts < this.maxAttempts ? route.next()?.entry : undefined;
    if (this.request.tried.size >= this.maxAttempts) return undefined;
    return this.deps.pool.select({ exclude: this.request.tried, model: this.selectionModel() });
  }

  /** Only look at the model when some account has per-model figures: most requests never parse their body. */
  private selectionModel(): string | undefined {
    return this.deps.pool.tracksModels() ? this.request.modelName() : undefined;
  }

  /** Whether the answer may be held while the next key is tried (attempts left, and the rules allow a resend). */
  private mayFailOver(outcome: AttemptOutcome): boolean {
    const { route } = this.request;
    // On a route, a model used up moves the request on (a 429 generated nothing); finding out is no attempt.
    if (route && verdictOf(outcome) === 'model_exhausted') return true;
    const attempts = route ? route.attempts : this.request.tried.size;
    if (this.pinned || attempts >= this.maxAttempts) return false;
    return failoverAllowed(outcome, this.request.method, this.deps.retry);
  }

  private needsTrialClaim(entry: PoolEntry): boolean {
    return !this.pinned && entry.state.status === 'invalid';
  }

  /**
   * A refused key's trial request is one per fleet per period: claimed through the store (a bounded wait; the trial
   * is this replica's alone when the store can't say). Meanwhile no other request here picks the key.
   */
  private async claimedTrial(entry: PoolEntry): Promise<boolean> {
    const { deps } = this;
    entry.state.trialInFlight = true;
    const claimed = await deps.fleet.claimTrial(entry, deps.invalidKeyRetryMs);
    entry.state.trialInFlight = false;
    if (!claimed) deps.pool.deferTrial(entry);
    return claimed && !this.request.clientGone;
  }

  /** With every key cooling down and none tried yet, waits (up to queueTimeoutMs in all) for the first to return. */
  private async waitedForCoolingKey(reason: NoKeyReason): Promise<boolean> {
    if (reason.kind !== 'cooling' || this.request.tried.size > 0) return false;
    const untilReturn = reason.retryAt - this.deps.now();
    const left = this.request.startedAt + this.deps.queueTimeoutMs - performance.now();
    if (left <= 0 || untilReturn > left) return false;
    await sleep(Math.max(untilReturn, 1));
    return !this.request.clientGone;
  }

  private reportAttempt(outcome: AttemptOutcome, next: 'failover' | 'answer' | 'client_gone'): void {
    const { events } = this.deps;
    if (!events.listening('attempt')) return;
    events.emit('attempt', {
      requestId: this.request.id,
      key: outcome.lease.entry.label,
      attempt: this.request.upstreamCalls,
      ...(this.request.route?.model ? { model: this.request.route.model } : {}),
      ...(outcome.response ? { status: outcome.response.statusCode ?? 502 } : {}),
      ...(outcome.failure ? { failure: outcome.failure } : {}),
      verdict: verdictOf(outcome),
      durationMs: performance.now() - outcome.startedAt,
      next,
    });
  }
}
