import type { IncomingHttpHeaders } from 'node:http';

// What ModelScope says is left of an account's daily allowance. Keys of one
// account share one of these, since the allowance belongs to the account.

export interface QuotaFigures {
  limit: number | null;
  remaining: number | null;
  /** When the figures were read (epoch ms). */
  seenAt: number;
  /** The reset after `seenAt`: from then on the figures are stale. */
  staleAt: number;
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

  /** When the exhaustion ends, or 0 when the account has quota left. */
  exhaustedUntil(now: number): number {
    const figures = this.overall;
    return figures && figures.remaining === 0 && now < figures.staleAt ? figures.staleAt : 0;
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
}
