import type { IncomingHttpHeaders } from 'node:http';
import type { BalanceFigures, ExhaustionSource } from './account-quota.js';
import type { LastError, StateRules, Transition } from './key-state.js';
import { Membership, type MembershipChange, type MembershipPlan } from './membership.js';
import type { Strategy } from '../options/options.js';
import type { PoolEntry } from './pool-entry.js';
import { nextResetAt } from './quota-clock.js';
import { QuotaKeeper, type QuotaRules } from './quota-keeper.js';
import type { ResolvedKey } from '../options/resolve-options.js';
import { RequestRate } from './request-rate.js';
import type { Steps } from '../options/steps.js';
import { ThrottleWatch } from './throttle-watch.js';

export type { MembershipChange, MembershipPlan };

export interface PoolSettings extends StateRules, QuotaRules {
  strategy: Strategy;
  resetTimeZone: string;
  resetMinutes: number;
  now: () => number;
}

/** What the pool tells the outside world (logs, metrics) when something changes. */
export interface PoolEvents {
  transition(entry: PoolEntry, change: Transition): void;
  exhausted(entry: PoolEntry, until: number, model: string | undefined, source?: ExhaustionSource): void;
  /** A call succeeded on an account held used up without counters: it is back at once. */
  exhaustionEnded?(entry: PoolEntry, source: Exclude<ExhaustionSource, 'counters'>): void;
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

export class KeyPool {
  private readonly members: Membership;
  /** Requests sent upstream over the last minutes and today, for the status page. */
  readonly rate = new RequestRate();
  private readonly throttle = new ThrottleWatch();
  private readonly quota: QuotaKeeper;
  private cachedReset = 0;

  constructor(
    keys: readonly ResolvedKey[],
    private readonly settings: PoolSettings,
    private readonly events: PoolEvents,
  ) {
    this.quota = new QuotaKeeper(settings, events, (now) => this.nextReset(now));
    this.members = new Membership({
      strategy: settings.strategy,
      rules: settings,
      now: settings.now,
      retired: (entry) => events.retired?.(entry),
    });
    this.members.replace(keys);
  }

  /** The keys in the pool now. A change installs a new array; requests under way keep the entries they hold. */
  get entries(): readonly PoolEntry[] {
    return this.members.list;
  }

  /** The entry for a label, if that key is in the pool. */
  find(label: string): PoolEntry | undefined {
    return this.members.byLabel.get(label);
  }

  /** The entry of a key (the secret), if it is in the pool: the current one, whichever a request holds. */
  get(key: string): PoolEntry | undefined {
    return this.members.byKey.get(key);
  }

  hasKey(key: string): boolean {
    return this.members.byKey.has(key);
  }

  /**
   * Adds a key (already checked); it takes traffic at once. Throws (changing
   * nothing) when the weighted schedule would grow too long.
   */
  add(spec: ResolvedKey): PoolEntry {
    return this.members.add(spec);
  }

  /** Removes a key: no new request uses it; requests and streams under way on it finish. */
  remove(entry: PoolEntry): void {
    this.members.remove(entry);
  }

  /**
   * Makes the pool exactly `specs` (already checked): keys present before and
   * after keep their entry, state and counts; new ones are added, missing ones
   * removed. Throws (changing nothing) when the weighted schedule would grow too long. Returns the plan it
   * applied: the change by label, and the entries that joined and left.
   */
  replace(specs: readonly ResolvedKey[]): MembershipPlan {
    return this.members.replace(specs);
  }

  /** `replace` in two halves: the plan, in steps (changing nothing), then `commit`, at once. */
  planReplace(specs: readonly ResolvedKey[]): Steps<MembershipPlan> {
    return this.members.plan(specs);
  }

  /** Applies a plan if nothing changed since it was made (else false, and nothing happens). Throws like `replace`. */
  commit(plan: MembershipPlan): MembershipChange | false {
    return this.members.isCurrent(plan) ? this.members.commit(plan) : false;
  }

  /** Whether any account has per-model figures, i.e. whether a request's model matters to selection. */
  tracksModels(): boolean {
    return this.quota.modelsSeen;
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

  /** Whether `entry` can take a request for `model` now (or its used-up account its trial); ends finished cooldowns. */
  isUsable(entry: PoolEntry, now: number, model?: string): boolean {
    const { state, account } = entry;
    if (!state.canTake(now)) return false;
    if (state.status === 'cooling') this.report(entry, state.refresh(now));
    if (account.exhaustedUntil(now) > 0 && !account.trialDue(now)) return false;
    return model === undefined || account.modelExhaustedUntil(model, now) === 0;
  }

  select(request: SelectRequest = {}): PoolEntry | undefined {
    const now = this.settings.now();
    const { exclude, model } = request;
    return this.members.selector.pick(
      this.entries,
      (entry) => !exclude?.has(entry.key) && this.isUsable(entry, now, model),
    );
  }

  /**
   * Explains an empty `select()`. A cooling key that will return wins (429 with
   * Retry-After, and the queue is honoured) even when other keys are broken;
   * a pool whose only other keys are refused says so.
   */
  whyNone(model?: string): NoKeyReason {
    if (this.entries.length === 0) return { kind: 'empty' };
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
      else if (entry.state.status === 'cooling' && !entry.state.disabled)
        // A cooldown that ended since select() looked (a race of a millisecond) counts as returning now.
        coolingUntil = Math.min(coolingUntil, Math.max(entry.state.until, now));
      else if (entry.state.status === 'invalid' && !entry.state.disabled) refused++;
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

  /** Starts a request on `entry`; pass what it returns to `end()`. A used-up account's trial is spent here. */
  begin(entry: PoolEntry): boolean {
    const now = this.settings.now();
    this.rate.record(now, this.nextReset(now));
    this.quota.beginning(entry, now);
    return entry.state.begin(now);
  }

  end(entry: PoolEntry, trial: boolean): void {
    entry.state.end(trial);
    this.members.retireIfIdle(entry);
  }

  /** Disables (no traffic, no probes) or enables a key, for an operator; false when it already was. */
  setDisabled(entry: PoolEntry, disabled: boolean): boolean {
    if (entry.state.disabled === disabled) return false;
    entry.state.disabled = disabled;
    return true;
  }

  /** A refused key's trial was taken by another replica of the fleet: this one waits a full period again. */
  deferTrial(entry: PoolEntry): void {
    entry.state.until = this.settings.now() + this.settings.invalidKeyRetryMs;
  }

  /** Quota headers of any upstream answer; `model` is read only when the headers name per-model figures. */
  recordQuota(entry: PoolEntry, headers: IncomingHttpHeaders, model: string | undefined): void {
    this.quota.record(entry, headers, model, this.settings.now());
  }

  /** A call succeeded: the key is healthy, and an account held used up without counters is back at once. */
  succeeded(entry: PoolEntry): void {
    const now = this.settings.now();
    this.throttle.succeeded(now);
    this.report(entry, entry.state.succeeded(now));
    this.quota.succeeded(entry, now);
  }

  /**
   * A 429 that does not say the allowance is gone. Without counters (`counters` false) it counts toward inferring
   * that it is: `assumeExhaustedAfter` of them in a row, with no success between, hold the account used up until
   * the reset, unless the pool is being throttled (see ThrottleWatch). Returns whether the account is used up now.
   */
  rateLimited(entry: PoolEntry, retryAfterMs: number | undefined, error: LastError, counters = true): boolean {
    const now = this.settings.now();
    const reading = this.throttle.rateLimited(entry, now, this.entries.length);
    if (reading.began) this.events.throttled(this.throttle.limited, this.entries.length);
    this.report(entry, entry.state.rateLimited(now, retryAfterMs, reading.throttled, error), true);
    if (!counters && reading.countable && !entry.account.countedToday(now)) this.quota.strike(entry, now);
    return entry.account.exhaustedUntil(now) > 0;
  }

  /** An answer that says the allowance is used up: a counter at 0 (of the account or one model), or its wording. */
  exhausted(entry: PoolEntry, model: string | undefined, error: LastError, source: 'counters' | 'answer'): void {
    entry.state.lastError = error;
    this.quota.exhausted(entry, model, source, this.settings.now());
  }

  /** What the balance endpoint said for `entry`'s account: zero means used up (see AccountQuota.recordBalance). */
  balanceRead(entry: PoolEntry, reading: Pick<BalanceFigures, 'available' | 'total' | 'frozen'>): void {
    this.quota.balanceRead(entry, reading, this.settings.now());
  }

  /** An error worth showing in /stats that says nothing against the key (a slow model, say). */
  noted(entry: PoolEntry, error: LastError): void {
    entry.state.lastError = error;
  }

  failed(entry: PoolEntry, error: LastError): void {
    this.report(entry, entry.state.failed(this.settings.now(), error), entry.state.status !== 'healthy');
  }

  /** An answer neither a success nor a 429 (a 5xx, a 400): the 429s before it are not in a row with later ones. */
  answeredOtherwise(entry: PoolEntry): void {
    this.quota.answeredOtherwise(entry);
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
}
