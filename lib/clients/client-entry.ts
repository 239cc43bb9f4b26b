// A named client while the balancer runs: its limits and what they hold now (requests under way, the minute's
// bucket). Its day's figures live in the UsageBook and the DailyBudget, by name.
import type { CheckedLimits } from './check-client.js';
import { TokenBucket } from './token-bucket.js';

export class ClientEntry {
  /** Requests of this client under way on this replica. */
  inFlight = 0;
  /** Removed (by the admin API or a clients file): its requests still under way are not counted for anyone. */
  removed = false;
  private bucketOfMinute: TokenBucket | undefined;
  private current: CheckedLimits = {};

  constructor(
    readonly name: string,
    /** SHA-256 of the token: the token itself is never kept. */
    private tokenDigest: Buffer,
    limits: CheckedLimits,
    now: number,
  ) {
    this.setLimits(limits, now);
  }

  get digest(): Buffer {
    return this.tokenDigest;
  }

  /** A new token for the same client (a clients file read again): its requests under way and limits stay its own. */
  rekey(digest: Buffer): void {
    this.tokenDigest = digest;
  }

  get limits(): CheckedLimits {
    return this.current;
  }

  /** The requestsPerMinute bucket, when the client has that limit. */
  get bucket(): TokenBucket | undefined {
    return this.bucketOfMinute;
  }

  /** New limits; a changed requestsPerMinute keeps the tokens already spent this minute. */
  setLimits(limits: CheckedLimits, now: number): void {
    const perMinute = limits.requestsPerMinute;
    const old = this.bucketOfMinute;
    if (perMinute === undefined) this.bucketOfMinute = undefined;
    else if (old?.perMinute !== perMinute)
      this.bucketOfMinute = new TokenBucket(perMinute, now, old ? old.level(now) : perMinute);
    this.current = limits;
  }
}
