// requestsPerMinute as a token bucket: up to `perMinute` requests at once, then one more every 60 s / perMinute. A
// bucket is two numbers updated on each take (no timer, no per-request allocation), and it says exactly when the next
// request may pass, for Retry-After. rate-limiter-flexible's memory limiter counts in fixed windows, which lets twice
// the limit through across a window's edge; this does not.

const MINUTE_MS = 60_000;

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** Milliseconds for one token to come back. */
  private readonly refillMs: number;

  constructor(
    readonly perMinute: number,
    now: number,
    /** Tokens in the bucket at the start (a changed limit keeps what was spent). Defaults to a full bucket. */
    tokens = perMinute,
  ) {
    this.refillMs = MINUTE_MS / perMinute;
    this.tokens = Math.min(tokens, perMinute);
    this.updatedAt = now;
  }

  /** Takes one token: 0 when it was there, else the milliseconds until one is (nothing taken). */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) * this.refillMs));
  }

  /** Gives a token back (a request taken through but refused by a later gate: it was not sent). */
  giveBack(): void {
    this.tokens = Math.min(this.perMinute, this.tokens + 1);
  }

  /** Tokens in the bucket now (fractional while one comes back). */
  level(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.perMinute, this.tokens + (now - this.updatedAt) / this.refillMs);
      this.updatedAt = now;
    }
  }
}
