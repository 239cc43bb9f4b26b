// Which keys are in the pool, with the indexes that find them (by key, by
// label, by named account) and the selector that walks them. A change is
// planned first (in steps, so a large one can run between requests), against
// the current version, then committed at once; a change that the selector
// refuses (weights too large), or a plan made stale by another change, leaves
// everything as it was.
import { AccountQuota } from './account-quota.js';
import { KeyState, type StateRules } from './key-state.js';
import { KeyTallies } from './key-tallies.js';
import type { Strategy } from '../options/options.js';
import type { PoolEntry } from './pool-entry.js';
import type { ResolvedKey } from '../options/resolve-keys.js';
import { type Steps, runSteps, stepDone } from '../options/steps.js';
import { createSelector, type Selector } from './strategies.js';

/** What a change of membership did, by label. */
export interface MembershipChange {
  added: string[];
  removed: string[];
  kept: string[];
}

/** A named account's shared quota, and how many keys of the pool use it (a key's own account is not listed). */
interface AccountUse {
  quota: AccountQuota;
  keys: number;
}

/** A replacement worked out but not applied: applied whole by `commit`, if nothing changed meanwhile. */
export interface MembershipPlan {
  readonly version: number;
  readonly entries: readonly PoolEntry[];
  readonly byKey: Map<string, PoolEntry>;
  readonly byLabel: Map<string, PoolEntry>;
  readonly accounts: Map<string, AccountUse>;
  /** Keys new to the pool. */
  readonly joining: readonly PoolEntry[];
  readonly leaving: readonly PoolEntry[];
  readonly change: MembershipChange;
}

export interface MembershipSettings {
  strategy: Strategy;
  rules: StateRules;
  now: () => number;
  /** A key left the pool with no request under way on it (now, or when its last request ended). */
  retired(entry: PoolEntry): void;
}

export class Membership {
  list: readonly PoolEntry[] = [];
  byKey = new Map<string, PoolEntry>();
  byLabel = new Map<string, PoolEntry>();
  private accounts = new Map<string, AccountUse>();
  selector: Selector;
  /** Counts changes: a plan made against an older version is stale. */
  private version = 0;

  constructor(private readonly settings: MembershipSettings) {
    this.selector = createSelector(settings.strategy, [], settings.now);
  }

  /** Adds a key: O(1) besides copying the list. Throws, changing nothing, when the selector refuses it. */
  add(spec: ResolvedKey): PoolEntry {
    const named = spec.ownAccount ? undefined : this.accounts.get(spec.account)?.quota;
    const entry = this.entryFor(spec, named ?? new AccountQuota());
    const entries = [...this.list, entry];
    this.selector = createSelector(this.settings.strategy, entries, this.settings.now);
    this.list = entries;
    this.index(entry);
    this.version++;
    return entry;
  }

  /** Removes a key's entry: O(1) besides copying the list. */
  remove(entry: PoolEntry): void {
    const current = this.byKey.get(entry.key);
    if (!current) return;
    const entries = this.list.filter((other) => other !== current);
    this.selector = createSelector(this.settings.strategy, entries, this.settings.now);
    this.list = entries;
    this.unindex(current);
    this.version++;
    this.retireIfIdle(current);
  }

  /** Makes the pool exactly `specs` (already checked), at once; returns the plan it applied. */
  replace(specs: readonly ResolvedKey[]): MembershipPlan {
    const plan = runSteps(this.plan(specs));
    this.commit(plan);
    return plan;
  }

  /**
   * Works out the pool `specs` make, without changing anything: keys present
   * before and after keep their entry (the same object when nothing about them
   * changed), state and counts; new ones get new entries.
   */
  *plan(specs: readonly ResolvedKey[]): Steps<MembershipPlan> {
    const version = this.version;
    const change: MembershipChange = { added: [], removed: [], kept: [] };
    const byKey = new Map<string, PoolEntry>();
    const byLabel = new Map<string, PoolEntry>();
    const accounts = new Map<string, AccountUse>();
    const entries: PoolEntry[] = [];
    const joining: PoolEntry[] = [];
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      const previous = this.byKey.get(spec.key);
      (previous ? change.kept : change.added).push(spec.label);
      let quota = previous?.ownAccount && spec.ownAccount ? previous.account : undefined;
      if (!spec.ownAccount) {
        let use = accounts.get(spec.account);
        if (!use) {
          use = { quota: this.accounts.get(spec.account)?.quota ?? new AccountQuota(), keys: 0 };
          accounts.set(spec.account, use);
        }
        use.keys++;
        quota = use.quota;
      }
      const entry = this.entryFor(spec, quota ?? new AccountQuota(), previous);
      entries.push(entry);
      if (!previous) joining.push(entry);
      byKey.set(entry.key, entry);
      byLabel.set(entry.label, entry);
      if (stepDone(i)) yield;
    }
    const leaving: PoolEntry[] = [];
    for (let i = 0; i < this.list.length; i++) {
      if (!byKey.has(this.list[i].key)) {
        leaving.push(this.list[i]);
        change.removed.push(this.list[i].label);
      }
      if (stepDone(i)) yield;
    }
    return { version, entries, byKey, byLabel, accounts, joining, leaving, change };
  }

  /** Whether a plan still applies: nothing changed since it was made. */
  isCurrent(plan: MembershipPlan): boolean {
    return plan.version === this.version;
  }

  /**
   * Applies a current plan at once (a few assignments, and the selector: for
   * `weighted`, its schedule). Throws, changing nothing, when the selector
   * refuses it.
   */
  commit(plan: MembershipPlan): MembershipChange {
    if (!this.isCurrent(plan)) throw new Error('modelscope-balance: a key change was planned on a pool since changed');
    this.selector = createSelector(this.settings.strategy, plan.entries, this.settings.now);
    this.list = plan.entries;
    this.byKey = plan.byKey;
    this.byLabel = plan.byLabel;
    this.accounts = plan.accounts;
    this.version++;
    for (const entry of plan.leaving) this.retireIfIdle(entry);
    return plan.change;
  }

  /** A key that left: retired now if no request is under way on it, else when its last one ends (`ended`). */
  retireIfIdle(entry: PoolEntry): void {
    if (entry.state.inFlight === 0 && !this.byKey.has(entry.key)) this.settings.retired(entry);
  }

  /**
   * A new entry, or `previous` itself when its settings are the same (so a
   * request holding it still holds the pool's entry), else one that carries on
   * its state and counts under the new settings. A key's own account stays
   * with it, whatever its label becomes.
   */
  private entryFor(spec: ResolvedKey, account: AccountQuota, previous?: PoolEntry): PoolEntry {
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
      state: previous?.state ?? new KeyState(this.settings.rules),
      tallies: previous?.tallies ?? new KeyTallies(),
    });
  }

  private index(entry: PoolEntry): void {
    this.byKey.set(entry.key, entry);
    this.byLabel.set(entry.label, entry);
    if (entry.ownAccount) return;
    const use = this.accounts.get(entry.accountName);
    if (use) use.keys++;
    else this.accounts.set(entry.accountName, { quota: entry.account, keys: 1 });
  }

  private unindex(entry: PoolEntry): void {
    this.byKey.delete(entry.key);
    if (this.byLabel.get(entry.label) === entry) this.byLabel.delete(entry.label);
    if (entry.ownAccount) return;
    const use = this.accounts.get(entry.accountName);
    if (use && --use.keys === 0) this.accounts.delete(entry.accountName);
  }
}
