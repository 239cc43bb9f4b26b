// The pool's bookkeeping of accounts' allowances: counters from answers, an
// exhaustion an answer states or 429s in a row imply, the balance, trials and
// the successes that end an exhaustion. Every change is announced once (a log
// line when an exhaustion starts or ends) and handed to the store to share.
import type { IncomingHttpHeaders } from 'node:http';
import { DEFAULTS } from '../options/defaults.js';
import type { BalanceFigures } from './account-quota.js';
import type { PoolEntry } from './pool-entry.js';
import type { PoolEvents } from './pool.js';

export interface QuotaRules {
  /** 429s without counters in a row after which an account counts as used up. Defaults to 3. */
  assumeExhaustedAfter?: number;
  /** One trial call per this period on an account used up without counters. Defaults to 1 800 000 ms. */
  exhaustedTrialMs?: number;
}

export class QuotaKeeper {
  /** Set once any per-model figure is known; until then requests skip reading their model. */
  modelsSeen = false;
  private readonly rules: Required<QuotaRules>;

  constructor(
    rules: QuotaRules,
    private readonly events: PoolEvents,
    /** The next reset of the daily allowance after `now`. */
    private readonly nextReset: (now: number) => number,
  ) {
    this.rules = {
      assumeExhaustedAfter: rules.assumeExhaustedAfter ?? DEFAULTS.quota.assumeExhaustedAfter,
      exhaustedTrialMs: rules.exhaustedTrialMs ?? DEFAULTS.quota.exhaustedTrialMs,
    };
  }

  /** Quota headers of any upstream answer. */
  record(entry: PoolEntry, headers: IncomingHttpHeaders, model: string | undefined, now: number): void {
    this.update(entry, model, now, (reset) => entry.account.record(headers, model, now, reset));
  }

  /** An answer that says the allowance is used up, by a counter at 0 or by its wording. */
  exhausted(entry: PoolEntry, model: string | undefined, source: 'counters' | 'answer', now: number): void {
    const { account } = entry;
    this.update(entry, model, now, (reset) => {
      if (source === 'answer') account.markExhaustedBy('answer', now, reset, this.rules.exhaustedTrialMs);
      else if (model === undefined) account.markExhausted(now, reset);
      else account.markModelExhausted(model, now, reset);
    });
  }

  /** A 429 without counters that may count toward inference (see AccountQuota.strike). */
  strike(entry: PoolEntry, now: number): void {
    const { account } = entry;
    const { assumeExhaustedAfter, exhaustedTrialMs } = this.rules;
    // The burst ends with the cooldown this 429 started: concurrent 429s of the key (or its account) count once.
    const burstEndsAt = entry.state.until;
    if (!account.countsStrike(now)) return;
    this.update(entry, undefined, now, (reset) => {
      account.strike(now, burstEndsAt, assumeExhaustedAfter, reset, exhaustedTrialMs);
    });
  }

  /** An answer other than a success or a 429: the 429s before it and after it are not in a row. */
  answeredOtherwise(entry: PoolEntry): void {
    if (entry.account.breakStrikes()) this.events.quotaChanged?.(entry);
  }

  /** A call is about to go on `entry`: if its account is used up and due a trial, this is the trial. */
  beginning(entry: PoolEntry, now: number): void {
    if (entry.account.exhaustion === null || !entry.account.trialDue(now)) return;
    entry.account.startTrial(now, this.rules.exhaustedTrialMs);
    this.events.quotaChanged?.(entry);
  }

  /** A call succeeded: counted, and an exhaustion known without counters ends at once. */
  succeeded(entry: PoolEntry, now: number): void {
    const effect = entry.account.succeeded(now, this.nextReset(now));
    if (effect === false) return;
    this.events.quotaChanged?.(entry);
    if (effect !== true) this.events.exhaustionEnded?.(entry, effect);
  }

  /** What the balance endpoint said for `entry`'s account. */
  balanceRead(entry: PoolEntry, reading: Pick<BalanceFigures, 'available' | 'total' | 'frozen'>, now: number): void {
    this.update(entry, undefined, now, (reset) => {
      entry.account.recordBalance(reading, now, reset, this.rules.exhaustedTrialMs);
    });
  }

  /** Applies a change to an account's figures, shares it, and announces an exhaustion it starts, once. */
  private update(entry: PoolEntry, model: string | undefined, now: number, change: (reset: number) => void): void {
    const reset = this.nextReset(now);
    const { account } = entry;
    const wasExhausted = account.exhaustedUntil(now) > 0;
    const modelWasExhausted = model !== undefined && account.modelExhaustedUntil(model, now) > 0;
    change(reset);
    this.events.quotaChanged?.(entry);
    if (model !== undefined && account.models.has(model)) this.modelsSeen = true;
    const until = account.exhaustedUntil(now);
    if (!wasExhausted && until > 0) this.events.exhausted(entry, until, undefined, account.exhaustionView(now)?.source);
    if (model !== undefined && !modelWasExhausted && account.modelExhaustedUntil(model, now) > 0) {
      this.events.exhausted(entry, reset, model, 'counters');
    }
  }
}
