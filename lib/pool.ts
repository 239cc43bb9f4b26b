import type { IncomingHttpHeaders } from 'node:http';
import { AccountQuota } from './account-quota.js';
import { KeyTallies } from './key-tallies.js';
import { KeyState, type LastError, type StateRules, type Transition } from './key-state.js';
import type { Strategy } from './options.js';
import type { PoolEntry } from './pool-entry.js';
import { nextResetAt } from './quota-clock.js';
import type { ResolvedKey } from './resolve-options.js';
import { createSelector, type Selector } from './strategies.js';

export interface PoolSettings extends StateRules {
  strategy: Strategy;
  resetTimeZone: string;
  resetMinutes: number;
  now: () => number;
}

/** What the pool tells the outside world (logs, metrics) when something changes. */
export interface PoolEvents {
  transition(entry: PoolEntry, change: Transition): void;
  exhausted(entry: PoolEntry, until: number, model: string | undefined): void;
  throttled(keysLimited: number, poolSize: number): void;
}

/** Why no key could be chosen, and when to come back. */
export type NoKeyReason =
  | { kind: 'cooling'; retryAt: number }
  | { kind: 'exhausted'; retryAt: number }
  | { kind: 'refused' }
  | { kind: 'unavailable' };

export interface SelectRequest {
  /** Keys already tried by this request. */
  exclude?: ReadonlySet<PoolEntry>;
  /** The model the request names, for per-model exhaustion. */
  model?: string;
}

/** Several keys limited within this window mean the upstream throttles us, not the keys. */
const THROTTLE_WINDOW_MS = 5_000;

export class KeyPool {
  readonly entries: readonly PoolEntry[];
  private readonly selector: Selector;
  private readonly recentRateLimits = new Map<PoolEntry, number>();
  private throttledEpisode = false;
  private cachedReset = 0;
  /** Set once any per-model figure is known; until then requests skip reading their model. */
  private modelsSeen = false;

  constructor(keys: readonly ResolvedKey[], private readonly settings: PoolSettings, private readonly events: PoolEvents) {
    const accounts = new Map<string, AccountQuota>();
    this.entries = keys.map((spec, index) => {
      let account = accounts.get(spec.account);
      if (!account) accounts.set(spec.account, (account = new AccountQuota()));
      return Object.freeze({
        index, key: spec.key, label: spec.label, weight: spec.weight,
        accountName: spec.account, account, state: new KeyState(settings), tallies: new KeyTallies(),
      });
    });
    this.selector = createSelector(settings.strategy, this.entries, settings.now);
  }

  /** Whether any account has per-model figures, i.e. whether a request's model matters to selection. */
  tracksModels(): boolean {
    return this.modelsSeen;
  }

  now(): number {
    return this.settings.now();
  }

  /** The next reset of the daily allowance after now (cached until it passes). */
  nextReset(now: number): number {
    if (now >= this.cachedReset) {
      this.cachedReset = nextResetAt(now, this.settings.resetTimeZone, this.settings.resetMinutes);
    }
    return this.cachedReset;
  }

  /** Whether `entry` can take a request for `model` now; ends finished cooldowns on the way. */
  isUsable(entry: PoolEntry, now: number, model?: string): boolean {
    const state = entry.state;
    if (!state.canTake(now)) return false;
    if (state.status === 'cooling') this.report(entry, state.refresh(now));
    if (entry.account.exhaustedUntil(now) > 0) return false;
    return model === undefined || entry.account.modelExhaustedUntil(model, now) === 0;
  }

  select(request: SelectRequest = {}): PoolEntry | undefined {
    const now = this.settings.now();
    const { exclude, model } = request;
    return this.selector.pick(this.entries, (entry) => !exclude?.has(entry) && this.isUsable(entry, now, model));
  }

  /**
   * Explains an empty `select()`. A cooling key that will return wins (429 with
   * Retry-After, and the queue is honoured) even when other keys are broken;
   * a pool whose only other keys are refused says so.
   */
  whyNone(model?: string): NoKeyReason {
    const now = this.settings.now();
    let coolingUntil = Infinity;
    let exhaustedUntil = Infinity;
    let refused = 0;
    let other = 0;
    for (const entry of this.entries) {
      const exhausted = Math.max(entry.account.exhaustedUntil(now), model ? entry.account.modelExhaustedUntil(model, now) : 0);
      if (exhausted > 0) exhaustedUntil = Math.min(exhaustedUntil, exhausted);
      else if (entry.state.status === 'cooling' && now < entry.state.until) coolingUntil = Math.min(coolingUntil, entry.state.until);
      else if (entry.state.status === 'invalid') refused++;
      else other++;
    }
    if (coolingUntil < Infinity) return { kind: 'cooling', retryAt: coolingUntil };
    if (other > 0) return { kind: 'unavailable' };
    if (exhaustedUntil < Infinity) return { kind: 'exhausted', retryAt: exhaustedUntil };
    return refused > 0 ? { kind: 'refused' } : { kind: 'unavailable' };
  }

  usableCount(): number {
    const now = this.settings.now();
    let count = 0;
    for (const entry of this.entries) if (this.isUsable(entry, now)) count++;
    return count;
  }

  /** Starts a request on `entry`; pass what it returns to `end()`. */
  begin(entry: PoolEntry): boolean {
    return entry.state.begin(this.settings.now());
  }

  end(entry: PoolEntry, trial: boolean): void {
    entry.state.end(trial);
  }

  /** Quota headers of any upstream answer; `model` is read only when the headers name per-model figures. */
  recordQuota(entry: PoolEntry, headers: IncomingHttpHeaders, model: string | undefined): void {
    this.updateQuota(entry, model, (now, reset) => entry.account.record(headers, model, now, reset));
  }

  succeeded(entry: PoolEntry): void {
    this.report(entry, entry.state.succeeded(this.settings.now()));
  }

  rateLimited(entry: PoolEntry, retryAfterMs: number | undefined, error: LastError): void {
    const now = this.settings.now();
    this.report(entry, entry.state.rateLimited(now, retryAfterMs, this.noteRateLimit(entry, now), error));
  }

  /** A 429 that says the daily allowance (of the account, or of one model) is used up. */
  exhausted(entry: PoolEntry, model: string | undefined, error: LastError): void {
    entry.state.lastError = error;
    this.updateQuota(entry, model, (now, reset) => {
      if (model === undefined) entry.account.markExhausted(now, reset);
      else entry.account.markModelExhausted(model, now, reset);
    });
  }

  /** Applies a change to an account's figures and announces an exhaustion it starts, once. */
  private updateQuota(entry: PoolEntry, model: string | undefined, change: (now: number, reset: number) => void): void {
    const now = this.settings.now();
    const reset = this.nextReset(now);
    const { account } = entry;
    const wasExhausted = account.exhaustedUntil(now) > 0;
    const modelWasExhausted = model !== undefined && account.modelExhaustedUntil(model, now) > 0;
    change(now, reset);
    if (model !== undefined && account.models.has(model)) this.modelsSeen = true;
    if (!wasExhausted && account.exhaustedUntil(now) > 0) this.events.exhausted(entry, reset, undefined);
    if (model !== undefined && !modelWasExhausted && account.modelExhaustedUntil(model, now) > 0) {
      this.events.exhausted(entry, reset, model);
    }
  }

  /** An error worth showing in /stats that says nothing against the key (a slow model, say). */
  noted(entry: PoolEntry, error: LastError): void {
    entry.state.lastError = error;
  }

  failed(entry: PoolEntry, error: LastError): void {
    this.report(entry, entry.state.failed(this.settings.now(), error));
  }

  refused(entry: PoolEntry, error: LastError): void {
    this.report(entry, entry.state.refused(this.settings.now(), error));
  }

  probed(entry: PoolEntry, outcome: 'ok' | 'failed' | 'refused', error?: LastError): void {
    this.report(entry, entry.state.probed(this.settings.now(), outcome, error));
  }

  private report(entry: PoolEntry, change: Transition | null): void {
    if (change) this.events.transition(entry, change);
  }

  /** Records a 429 and says whether most of the pool was limited within the window. */
  private noteRateLimit(entry: PoolEntry, now: number): boolean {
    this.recentRateLimits.set(entry, now);
    for (const [other, at] of this.recentRateLimits) {
      if (now - at > THROTTLE_WINDOW_MS) this.recentRateLimits.delete(other);
    }
    const size = this.entries.length;
    const throttled = size >= 3 && this.recentRateLimits.size > size / 2;
    if (throttled && !this.throttledEpisode) this.events.throttled(this.recentRateLimits.size, size);
    this.throttledEpisode = throttled;
    return throttled;
  }
}
