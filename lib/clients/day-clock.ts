// The day of a client's budget and usage: it ends when ModelScope's daily allowance comes back
// (`quota.resetTimeZone`, `quota.resetTime`), so "300 requests a day" and the pool's quota turn over together. The
// next reset is computed once per day, not per request.
import { nextResetAt } from '../pool/quota-clock.js';

export class DayClock {
  private endsAt = -Infinity;
  private id = '';

  constructor(
    private readonly timeZone: string,
    /** Minutes after local midnight of the reset. */
    private readonly resetMinutes: number,
    readonly now: () => number,
  ) {}

  /** When the current day ends (epoch ms): the next reset. */
  resetsAt(): number {
    this.roll();
    return this.endsAt;
  }

  /** A name of the current day, the same on every replica: its end, as an ISO time to the minute (UTC). */
  day(): string {
    this.roll();
    return this.id;
  }

  private roll(): void {
    const now = this.now();
    if (now < this.endsAt) return;
    this.endsAt = nextResetAt(now, this.timeZone, this.resetMinutes);
    this.id = new Date(this.endsAt).toISOString().slice(0, 16);
  }
}
