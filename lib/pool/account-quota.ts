import type { IncomingHttpHeaders } from 'node:http';

// What is known of an account's daily allowance. Keys of one account share one
// of these, since the allowance belongs to the account. ModelScope's counters
// say it best; without them, an exhaustion is known from an answer's wording,
// inferred from 429s in a row, or read from the balance.

export interface QuotaFigures {
  limit: number | null;
  remaining: number | null;
  /** When the figures were read (epoch ms). */
  seenAt: number;
  /** The reset after `seenAt`: from then on the figures are stale. */
  staleAt: number;
}

/** How an exhaustion is known: a counter at 0, the answer's wording, 429s in a row, or the balance at zero. */
export type ExhaustionSource = 'counters' | 'answer' | 'inferred' | 'balance';

/** An exhaustion known without a counter at 0. It ends at the reset at the latest, or when a call succeeds. */
export interface Exhaustion {
  source: Exclude<ExhaustionSource, 'counters'>;
  since: number;
  /** The next reset after `since`. */
  until: number;
  /** When the next trial call may go: one per `quota.exhaustedTrialMs`, in case it was throttling after all. */
  nextTrialAt: number;
}

/** An exhaustion as shown in /stats and /status, whatever its source. */
export interface ExhaustionView {
  source: ExhaustionSource;
  since: number;
  until: number;
  /** null when counters say so: they are trusted until the reset, with no trial. */
  nextTrialAt: number | null;
}

/** 429s without counters in a row on an account, with no success between: they infer a used-up allowance. */
export interface Strikes {
  count: number;
  /** A 429 before this instant belongs to the last one's burst (the cooldown it started was running): not counted. */
  nextAt: number;
  /** The reset after the last one: the count starts over then. */
  until: number;
}

/** What the balance endpoint (`quota.balanceUrl`) last said for the account. */
export interface BalanceFigures {
  available: number;
  total: number | null;
  frozen: number | null;
  seenAt: number;
  /**
   * A call succeeded while the balance read zero: the balance is not what gates this account, and zero readings
   * are ignored until this instant (the next reset). 0 when trusted.
   */
  ignoredUntil: number;
}

const HEADER = {
  limit: 'modelscope-ratelimit-requests-limit',
  remaining: 'modelscope-ratelimit-requests-remaining',
  modelLimit: 'modelscope-ratelimit-model-requests-limit',
  modelRemaining: 'modelscope-ratelimit-model-requests-remaining',
} as const;

/** Bound on per-model entries per account, so a client naming random models can't grow memory. */
const MAX_MODELS = 256;

function numberHeader(headers: IncomingHttpHeaders, name: string): number | null {
  const raw = headers[name];
  const text = Array.isArray(raw) ? raw[0] : raw;
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 ? value : null;
}

export function hasModelQuotaHeaders(headers: IncomingHttpHeaders): boolean {
  return headers[HEADER.modelRemaining] !== undefined || headers[HEADER.modelLimit] !== undefined;
}

/** Whether an answer says anything about the allowance (a proxy in between may strip the headers). */
export function hasQuotaHeaders(headers: IncomingHttpHeaders): boolean {
  return (
    headers[HEADER.remaining] !== undefined || headers[HEADER.limit] !== undefined || hasModelQuotaHeaders(headers)
  );
}

export class AccountQuota {
  overall: QuotaFigures | null = null;
  readonly models = new Map<string, QuotaFigures>();
  /** An exhaustion known without counters, or null. */
  exhaustion: Exhaustion | null = null;
  /** 429s without counters in a row, with no success between: `quota.assumeExhaustedAfter` of them infer exhaustion. */
  strikes: Strikes | null = null;
  balance: BalanceFigures | null = null;
  /** Successes since the last reset, and that reset (the forecast without counters works from them). */
  private successes = 0;
  private successesUntil = 0;
  /** The successes of the last day the account ran out without counters: its allowance, as observed. */
  observedAllowance: number | null = null;

  /** Reads the four headers. `nextReset` is the next reset instant after `now`. */
  record(headers: IncomingHttpHeaders, model: string | undefined, now: number, nextReset: number): void {
    const remaining = numberHeader(headers, HEADER.remaining);
    const limit = numberHeader(headers, HEADER.limit);
    if (remaining !== null || limit !== null) {
      this.overall = { limit, remaining, seenAt: now, staleAt: nextReset };
    }
    if (model === undefined) return;
    const modelRemaining = numberHeader(headers, HEADER.modelRemaining);
    const modelLimit = numberHeader(headers, HEADER.modelLimit);
    if (modelRemaining === null && modelLimit === null) return;
    if (!this.models.has(model) && this.models.size >= MAX_MODELS) {
      this.models.delete(this.models.keys().next().value as string);
    }
    this.models.set(model, { limit: modelLimit, remaining: modelRemaining, seenAt: now, staleAt: nextReset });
  }

  /** Marks the whole allowance used up until `nextReset` (a 429 that says so). */
  markExhausted(now: number, nextReset: number): void {
    this.overall = { limit: this.overall?.limit ?? null, remaining: 0, seenAt: now, staleAt: nextReset };
  }

  markModelExhausted(model: string, now: number, nextReset: number): void {
    const limit = this.models.get(model)?.limit ?? null;
    this.models.set(model, { limit, remaining: 0, seenAt: now, staleAt: nextReset });
  }

  /** When the exhaustion ends (whatever says so), or 0 when the account has quota left. */
  exhaustedUntil(now: number): number {
    const counted = this.countersExhaustedUntil(now);
    const known = this.exhaustion !== null && now < this.exhaustion.until ? this.exhaustion.until : 0;
    return Math.max(counted, known);
  }

  /** When an exhaustion the counters show ends, or 0. */
  countersExhaustedUntil(now: number): number {
    const figures = this.overall;
    return figures && figures.remaining === 0 && now < figures.staleAt ? figures.staleAt : 0;
  }

  /** Whether ModelScope sent counters for this account since the last reset: then they, not inference, decide. */
  countedToday(now: number): boolean {
    if (this.overall && now < this.overall.staleAt) return true;
    for (const figures of this.models.values()) if (now < figures.staleAt) return true;
    return false;
  }

  /** Whether an exhaustion known without counters allows its one trial call now (counters at 0 allow none). */
  trialDue(now: number): boolean {
    const known = this.exhaustion;
    return known !== null && now < known.until && now >= known.nextTrialAt && this.countersExhaustedUntil(now) === 0;
  }

  /** The exhaustion as shown to people, counters first (they win), or null. */
  exhaustionView(now: number): ExhaustionView | null {
    const counted = this.countersExhaustedUntil(now);
    if (counted > 0) {
      return { source: 'counters', since: this.overall?.seenAt ?? now, until: counted, nextTrialAt: null };
    }
    const known = this.exhaustion;
    if (known === null || now >= known.until) return null;
    return { source: known.source, since: known.since, until: known.until, nextTrialAt: known.nextTrialAt };
  }

  modelExhaustedUntil(model: string, now: number): number {
    const figures = this.models.get(model);
    return figures && figures.remaining === 0 && now < figures.staleAt ? figures.staleAt : 0;
  }

  /** Requests left today as far as known; after a reset, or before any figure, unknown = Infinity. */
  remainingNow(now: number): number {
    const figures = this.overall;
    if (!figures || figures.remaining === null || now >= figures.staleAt) return Infinity;
    return figures.remaining;
  }

  /** 429s without counters in a row today. */
  strikesNow(now: number): number {
    return this.strikes !== null && now < this.strikes.until ? this.strikes.count : 0;
  }

  /** Whether a 429 at `now` would count: not within the burst of the last one. */
  countsStrike(now: number): boolean {
    return this.strikes === null || now >= this.strikes.nextAt;
  }

  /** An answer that was neither a success nor a 429 (a 5xx, a 400): the 429s around it are not in a row. */
  breakStrikes(): boolean {
    if (this.strikes === null) return false;
    this.strikes = null;
    return true;
  }

  /** Successful calls since the last reset. */
  successesToday(now: number): number {
    return now < this.successesUntil ? this.successes : 0;
  }

  /** Marks the account used up, known without counters, until `until` (the reset); its first trial after `trialMs`. */
  markExhaustedBy(source: Exhaustion['source'], now: number, until: number, trialMs: number): void {
    const ongoing = this.exhaustion !== null && now < this.exhaustion.until;
    const since = ongoing ? (this.exhaustion as Exhaustion).since : now;
    this.exhaustion = { source, since, until, nextTrialAt: now + trialMs };
    const served = this.successesToday(now);
    if (served > 0) this.observedAllowance = served;
  }

  /** A trial call goes now: the next may go `trialMs` later, whatever this one answers. */
  startTrial(now: number, trialMs: number): void {
    if (this.exhaustion) this.exhaustion = { ...this.exhaustion, nextTrialAt: now + trialMs };
  }

  /**
   * Counts a 429 without counters toward inference, unless it belongs to the last strike's burst; `burstEndsAt` is
   * when the cooldown it caused ends. Returns whether it counted.
   */
  strike(now: number, burstEndsAt: number, threshold: number, reset: number, trialMs: number): boolean {
    if (!this.countsStrike(now)) return false;
    const count = this.strikesNow(now) + 1;
    this.strikes = { count, nextAt: burstEndsAt, until: reset };
    if (count >= threshold && this.exhaustedUntil(now) === 0) {
      this.markExhaustedBy('inferred', now, reset, trialMs);
    }
    return true;
  }

  /**
   * A call succeeded: it is counted for the day, and whatever said the allowance was gone without counters was
   * wrong (or the balance was topped up). Returns the source of an exhaustion it ended, true when it changed only
   * what other replicas share (the count of 429s, a zero balance now ignored), false when it changed nothing shared.
   */
  succeeded(now: number, reset: number): Exhaustion['source'] | boolean {
    if (reset !== this.successesUntil) {
      this.successesUntil = reset;
      this.successes = 0;
    }
    this.successes++;
    const zeroBalanceTrusted =
      this.balance !== null && this.balance.available <= 0 && this.balance.ignoredUntil < reset;
    if (this.strikes === null && this.exhaustion === null && !zeroBalanceTrusted) return false;
    if (zeroBalanceTrusted) this.balance = { ...(this.balance as BalanceFigures), ignoredUntil: reset };
    this.strikes = null;
    const ended = this.exhaustion !== null && now < this.exhaustion.until ? this.exhaustion.source : undefined;
    this.exhaustion = null;
    return ended ?? true;
  }

  /**
   * What the balance endpoint said. Zero (or less) means used up, unless a call succeeded on a zero reading today;
   * a positive balance ends an exhaustion the balance started (not one the answers showed). Returns whether it
   * started an exhaustion.
   */
  recordBalance(
    reading: Pick<BalanceFigures, 'available' | 'total' | 'frozen'>,
    now: number,
    reset: number,
    trialMs: number,
  ): boolean {
    const ignoredUntil = this.balance && now < this.balance.ignoredUntil ? this.balance.ignoredUntil : 0;
    this.balance = { ...reading, seenAt: now, ignoredUntil };
    if (reading.available > 0) {
      if (this.exhaustion?.source === 'balance') this.exhaustion = null;
      return false;
    }
    if (ignoredUntil > 0 || this.exhaustedUntil(now) > 0) return false;
    this.markExhaustedBy('balance', now, reset, trialMs);
    return true;
  }
}
