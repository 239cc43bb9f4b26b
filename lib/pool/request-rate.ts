// Requests sent upstream per minute (the last 16 minutes) and since the last
// daily reset: what the status page's "last minute", "today" and forecast read.
const MINUTE = 60_000;
const SLOTS = 16;

export class RequestRate {
  private readonly counts = new Float64Array(SLOTS);
  private readonly minutes = new Float64Array(SLOTS).fill(-1);
  private today = 0;
  private todayEndsAt = 0;

  /** Counts one request at `now`; `nextReset` is when the daily allowance next returns. */
  record(now: number, nextReset: number): void {
    const minute = Math.floor(now / MINUTE);
    const slot = minute % SLOTS;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.counts[slot] = 0;
    }
    this.counts[slot]++;
    if (nextReset !== this.todayEndsAt) {
      this.todayEndsAt = nextReset;
      this.today = 0;
    }
    this.today++;
  }

  /** Requests in the `minutes` whole minutes before now's, plus now's own so far. */
  within(now: number, minutes: number): number {
    const current = Math.floor(now / MINUTE);
    let sum = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const minute = this.minutes[slot];
      if (minute >= 0 && minute > current - minutes && minute <= current) sum += this.counts[slot];
    }
    return sum;
  }

  /** Requests since the last reset (0 once a reset has passed without traffic). */
  sinceReset(now: number): number {
    return now < this.todayEndsAt ? this.today : 0;
  }
}
