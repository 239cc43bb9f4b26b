import type { IncomingHttpHeaders } from 'node:http';
import { AccountQuota } from './account-quota.js';
import { KeyTallies } from './key-tallies.js';
import { KeyState, type LastError, type StateRules, type Transition } from './key-state.js';
import type { Strategy } from '../options/options.js';
import type { PoolEntry } from './pool-entry.js';
import { nextResetAt } from './quota-clock.js';
import type { ResolvedKey } from '../options/resolve-options.js';
import { RequestRate } from './request-rate.js';
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
  /** A key's state or deadline changed (to share with other replicas). */
  stateChanged?(entry: PoolEntry): void;
  /** An account's quota figures changed (to share with other replicas). */
  quotaChanged?(entry: PoolEntry): void;
  /** A key left the pool and no request is under way on it any more (its secret may be forgotten). */
  retired?(entry: PoolEntry): void;
}

/** Why no key could be chosen, and when to come back. */
export type NoKeyReason =
  | { kind: 'cooling'; retryAt: number }
  | { kind: 'exhausted'; retryAt: number }
  | { kind: 'refused' }
  | { kind: 'unavailable' }
  | { kind: 'empty' };

export interface SelectRequest {
  /** Keys (the secrets) already tried by this request: a key's entry may be replaced while the request runs. */
  exclude?: ReadonlySet<string>;
  /** The model the request names, for per-model exhaustion. */
  model?: string;
}

/** Several keys limited within this window mean the upstream throttles us, not the keys. */
const THROTTLE_WINDOW_MS = 5_000;

/** What a change of membership did, by label. */
export interface MembershipChange {
  added: string[];
  removed: string[];
  kept: string[];
}

/** An account's shared quota, and how many keys of the pool use it. */
interface AccountUse {
  quota: AccountQuota;
  keys: number;
}

export class KeyPool {
  private list: readonly PoolEntry[] = [];
  private readonly byKey = new Map<string, PoolEntry>();
  private readonly byLabel = new Map<string, PoolEntry>();
  private readonly accounts = new Map<string, AccountUse>();
  private selector!: Selector;
  /** Requests sent upstream over the last minutes and today, for the status page. */
  readonly rate = new RequestRate();
  private readonly recentRateLimits = new Map<string, number>();
  private throttledEpisode = false;
  private cachedReset = 0;
  /** Set once any per-model figure is known; until then requests skip reading their model. */
  private modelsSeen = false;

  constructor(
    keys: readonly ResolvedKey[],
    private readonly settings: PoolSettings,
    private readonly events: PoolEvents,
  ) {
    this.replace(keys);
  }

  /** The keys in the pool now. A change installs a new array; requests under way keep the entries they hold. */
  get entries(): readonly PoolEntry[] {
    return this.list;
  }

  /** The entry for a label, if that key is in the pool. */
  find(label: string): PoolEntry | undefined {
    return this.byLabel.get(label);
  }

  /** The entry of a key (the secret), if it is in the pool: the current one, whichever a request holds. */
  get(key: string): PoolEntry | undefined {
    return this.byKey.get(key);
  }

  hasKey(key: string): boolean {
    return this.byKey.has(key);
  }

  /**
   * Adds a key (already checked); it takes traffic at once. Throws (changing
   * nothing) when the weighted schedule would grow too long.
   */
  add(spec: ResolvedKey): PoolEntry {
    const entry = this.entryFor(spec, new Map());
    this.install([...this.list, entry], { joining: [entry], leaving: [] });
    return entry;
  }

  /** Removes a key: no new request uses it; requests and streams under way on it finish. */
  remove(entry: PoolEntry): void {
    const current = this.byKey.get(entry.key);
    if (!current) return;
    this.install(
      this.list.filter((other) => other !== current),
      { joining: [], leaving: [current] },
    );
  }

  /**
   * Makes the pool exactly `specs` (already checked): keys present before and
   * after keep their entry (the same object when nothing about them changed),
   * state and counts; new ones are added, missing ones removed. Throws
   * (changing nothing) when the weighted schedule would grow too long.
   */
  replace(specs: readonly ResolvedKey[]): MembershipChange {
    const change: MembershipChange = { added: [], removed: [], kept: [] };
    const wanted = new Set(specs.map((spec) => spec.key));
    const leaving = this.list.filter((entry) => !wanted.has(entry.key));
    const accounts = new Map<string, AccountQuota>();
    const entries = specs.map((spec) => {
      const previous = this.byKey.get(spec.key);
      (previous ? change.kept : change.added).push(spec.label);
      return this.entryFor(spec, accounts, previous);
    });
    for (const entry of leaving) change.removed.push(entry.label);
    this.install(entries, { leaving });
    return change;
  }

  /**
   * A new entry, or `previous` itself when its settings are the same (so a
   * request holding it still holds the pool's entry), else one that carries on
   * its state and counts under the new settings. `accounts` holds the accounts
   * met in this change, so keys that join together share theirs.
   */
  private entryFor(spec: ResolvedKey, accounts: Map<string, AccountQuota>, previous?: PoolEntry): PoolEntry {
    let account = accounts.get(spec.account) ?? this.accounts.get(spec.account)?.quota;
    if (!account) account = previous?.accountName === spec.account ? previous.account : new AccountQuota();
    accounts.set(spec.account, account);
    if (
      previous &&
      previous.label === spec.label &&
      previous.weight === spec.weight &&
      previous.accountName === spec.account &&
      previous.ownAccount === spec.ownAccount &&
      previous.account === account
    ) {
      return previous;
    }
    return Object.freeze({
      key: spec.key,
      label: spec.label,
      weight: spec.weight,
      accountName: spec.account,
      ownAccount: spec.ownAccount,
      account,
      state: previous?.state ?? new KeyState(this.settings),
      tallies: previous?.tallies ?? new KeyTallies(),
    });
  }

  /**
   * Makes `entries` the pool. The selector is built first: it is the one step
   * that can refuse (weights too large), and then nothing has changed yet.
   * With `joining` given, only those and `leaving` are (un)indexed: O(1) per
   * key besides the array copy; otherwise every index is rebuilt, O(n).
   */
  private install(entries: readonly PoolEntry[], change: { joining?: PoolEntry[]; leaving: PoolEntry[] }): void {
    this.selector = createSelector(this.settings.strategy, entries, this.settings.now);
    this.list = entries;
    if (change.joining) {
      for (const entry of change.leaving) this.unindex(entry);
      for (const entry of change.joining) this.index(entry);
    } else {
      this.byKey.clear();
      this.byLabel.clear();
      this.accounts.clear();
      for (const entry of entries) this.index(entry);
    }
    for (const entry of change.leaving) if (entry.state.inFlight === 0) this.events.retired?.(entry);
  }

  private index(entry: PoolEntry): void {
    this.byKey.set(entry.key, entry);
    this.byLabel.set(entry.label, entry);
    const use = this.accounts.get(entry.accountName);
    if (use) use.keys++;
    else this.accounts.set(entry.accountName, { quota: entry.account, keys: 1 });
  }

  private unindex(entry: PoolEntry): void {
    this.byKey.delete(entry.key);
    if (this.byLabel.get(entry.label) === entry) this.byLabel.delete(entry.label);
    const use = this.accounts.get(entry.accountName);
    if (use && --use.keys === 0) this.accounts.delete(entry.accountName);
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
    return this.selector.pick(this.entries, (entry) => !exclude?.has(entry.key) && this.isUsable(entry, now, model));
  }

  /**
   * Explains an empty `select()`. A cooling key that will return wins (429 with
   * Retry-After, and the queue is honoured) even when other keys are broken;
   * a pool whose only other keys are refused says so.
   */
  whyNone(model?: string): NoKeyReason {
    if (this.list.length === 0) return { kind: 'empty' };
    const now = this.settings.now();
    let coolingUntil = Infinity;
    let exhaustedUntil = Infinity;
    let refused = 0;
    let other = 0;
    for (const entry of this.entries) {
      const exhausted = Math.max(
        entry.account.exhaustedUntil(now),
        model ? entry.account.modelExhaustedUntil(model, now) : 0,
      );
      if (exhausted > 0) exhaustedUntil = Math.min(exhaustedUntil, exhausted);
      else if (entry.state.status === 'cooling' && !entry.state.held)
        // A cooldown that ended since select() looked (a race of a millisecond) counts as returning now.
        coolingUntil = Math.min(coolingUntil, Math.max(entry.state.until, now));
      else if (entry.state.status === 'invalid' && !entry.state.held) refused++;
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
    const now = this.settings.now();
    this.rate.record(now, this.nextReset(now));
    return entry.state.begin(now);
  }

  end(entry: PoolEntry, trial: boolean): void {
    entry.state.end(trial);
    if (entry.state.inFlight === 0 && !this.byKey.has(entry.key)) this.events.retired?.(entry);
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
    this.report(entry, entry.state.rateLimited(now, retryAfterMs, this.noteRateLimit(entry, now), error), true);
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
    this.events.quotaChanged?.(entry);
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
    this.report(entry, entry.state.failed(this.settings.now(), error), entry.state.status !== 'healthy');
  }

  refused(entry: PoolEntry, error: LastError): void {
    this.report(entry, entry.state.refused(this.settings.now(), error), true);
  }

  probed(entry: PoolEntry, outcome: 'ok' | 'failed' | 'refused', error?: LastError): void {
    this.report(entry, entry.state.probed(this.settings.now(), outcome, error), outcome !== 'ok');
  }

  /** Announces a transition; shares the key's state when it changed (or its deadline moved). */
  private report(entry: PoolEntry, change: Transition | null, moved = false): void {
    if (change) this.events.transition(entry, change);
    if (change || moved) this.events.stateChanged?.(entry);
  }

  /** Records a 429 and says whether most of the pool was limited within the window. */
  private noteRateLimit(entry: PoolEntry, now: number): boolean {
    this.recentRateLimits.set(entry.key, now);
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
