// dailyRequests: a slot of the client's day is reserved before any upstream call, and given back when the request
// made none (refused by a later check, no key free, the client gone). With a shared store that counts (RedisStore),
// the slot is the fleet's: one atomic INCRBY on a counter named by the client and the day, so three replicas serve
// the limit, not three times it. Without an answer from the store (Redis down, slower than 250 ms), a replica counts
// on what it knows: the fleet's last total plus what it served since, sent to the counter once the store answers.
// Without a shared store, counting is this process's, synchronous, with no promise per request.

/** The counters of a shared store, as the balancer calls them (bounded; undefined when no answer). */
export interface FleetCounters {
  /** Whether counters are shared with other replicas now (a store that says 'local' shares nothing). */
  shared(): boolean;
  increment(name: string, by: number, expiresAt: number): Promise<number | undefined>;
}

/** Which day the figures are of, and when it ends. */
export interface BudgetDay {
  day(): string;
  resetsAt(): number;
  now(): number;
}

export type Reservation = { ok: true } | { ok: false; used: number };

/** A fleet total that reached the limit is believed without asking again for this long (a refused client retrying). */
const FULL_BELIEVED_MS = 5_000;
/** Counters live a while past their day, so replicas whose clocks differ a little still count the same day. */
const COUNTER_GRACE_MS = 3_600_000;

interface Tally {
  day: string;
  /** Slots taken today as last known: the fleet's total when shared, else this process's count. */
  known: number;
  /** Slots this replica took (or gave back) that the fleet's counter has not seen yet. */
  unsynced: number;
  /** When `known` came from the fleet. */
  readAt: number;
}

export class DailyBudget {
  private readonly tallies = new Map<string, Tally>();

  constructor(
    private readonly clock: BudgetDay,
    private readonly counters: FleetCounters | undefined,
  ) {}

  /** Takes one slot of `client`'s day (synchronously when nothing is shared), or says how many were used. */
  reserve(client: string, limit: number): Reservation | Promise<Reservation> {
    const tally = this.tally(client);
    if (!this.counters?.shared()) {
      if (tally.known + tally.unsynced >= limit) return { ok: false, used: tally.known + tally.unsynced };
      tally.known++;
      return { ok: true };
    }
    if (tally.known >= limit && this.clock.now() - tally.readAt < FULL_BELIEVED_MS)
      return { ok: false, used: tally.known };
    return this.reserveShared(client, tally, limit);
  }

  /** Gives a slot back: the request reserved one but made no upstream call. */
  release(client: string): void {
    const tally = this.tally(client);
    if (!this.counters?.shared()) {
      tally.known = Math.max(0, tally.known - 1);
      return;
    }
    tally.unsynced--;
    void this.sync(client, tally, 0);
  }

  /** Slots used today as this replica knows them (the fleet's total when shared, as last read). */
  used(client: string): number {
    const tally = this.tally(client);
    return Math.max(0, tally.known + tally.unsynced);
  }

  /** Reads the fleet's total now (for /usage and /admin/clients); this replica's figure without a shared store. */
  async read(client: string): Promise<number> {
    const tally = this.tally(client);
    if (this.counters?.shared()) await this.sync(client, tally, 0);
    return this.used(client);
  }

  /** Today's counts of this process, to keep across a restart (a shared store keeps its own). */
  snapshot(): Record<string, number> {
    const today = this.clock.day();
    const counts: Record<string, number> = {};
    for (const [client, tally] of this.tallies) if (tally.day === today) counts[client] = tally.known + tally.unsynced;
    return counts;
  }

  /** Counts saved by `snapshot()` on `day`: taken when it is still that day, and the process's own counting. */
  restore(day: string, counts: Readonly<Record<string, number>>): void {
    if (day !== this.clock.day() || this.counters?.shared()) return;
    for (const [client, count] of Object.entries(counts)) this.tally(client).known = count;
  }

  /** Forgets a removed client. */
  forget(client: string): void {
    this.tallies.delete(client);
  }

  private async reserveShared(client: string, tally: Tally, limit: number): Promise<Reservation> {
    const total = await this.sync(client, tally, 1);
    if (total === undefined) {
      // No answer: this replica's view decides. The slot is sent to the fleet's counter with the next answer.
      if (tally.known + tally.unsynced > limit) {
        tally.unsynced--;
        return { ok: false, used: tally.known + tally.unsynced };
      }
      return { ok: true };
    }
    if (total > limit) {
      // Over by this request: its slot goes back, so the counter says what was served.
      tally.unsynced--;
      void this.sync(client, tally, 0);
      return { ok: false, used: limit };
    }
    return { ok: true };
  }

  /**
   * Adds `by` and whatever the fleet has not seen of this replica's to the fleet's counter; its new total, or
   * undefined without an answer (then all of it stays unsynced).
   */
  private async sync(client: string, tally: Tally, by: number): Promise<number | undefined> {
    const counters = this.counters as FleetCounters;
    const day = tally.day;
    const sent = tally.unsynced + by;
    tally.unsynced = 0;
    const total = await counters.increment(`budget:${client}:${day}`, sent, this.clock.resetsAt() + COUNTER_GRACE_MS);
    if (tally.day !== day) return total;
    if (total === undefined) {
      tally.unsynced += sent;
      return undefined;
    }
    // Answers may arrive out of order: the later total is the larger one, unless slots were given back meanwhile.
    tally.known = total;
    tally.readAt = this.clock.now();
    return total;
  }

  private tally(client: string): Tally {
    const day = this.clock.day();
    let tally = this.tallies.get(client);
    if (!tally || tally.day !== day)
      this.tallies.set(client, (tally = { day, known: 0, unsynced: 0, readAt: -Infinity }));
    return tally;
  }
}
