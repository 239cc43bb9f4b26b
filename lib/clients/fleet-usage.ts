// The day's totals of every client across a fleet (requests, upstream calls, prompt and completion tokens), on the
// shared store's counters. Not one command per request: each replica adds what it counted to the counters every
// `flushMs` (one INCRBY per client and figure that changed), and a reader (GET /usage, /admin/clients) reads the
// totals when asked. Figures a replica could not send (Redis down) are sent with the next flush. Per-model figures
// stay each replica's: a counter cannot list the models other replicas saw.
import type { FleetCounters } from './daily-budget.js';

/** The figures added up across the fleet. */
export const FLEET_FIGURES = ['requests', 'upstream_calls', 'prompt_tokens', 'completion_tokens'] as const;
export type FleetFigure = (typeof FLEET_FIGURES)[number];
export type FleetTotals = Record<FleetFigure, number>;

const COUNTER_GRACE_MS = 3_600_000;

export class FleetUsage {
  /** What this replica counted and has not sent yet, by client, for `day`. */
  private pending = new Map<string, FleetTotals>();
  private day = '';
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly counters: FleetCounters,
    private readonly clock: { day(): string; resetsAt(): number },
    private readonly flushMs = 5_000,
  ) {}

  /** Adds one request's figures, to be sent with the next flush. */
  add(client: string, figures: Partial<FleetTotals>): void {
    this.roll();
    let pending = this.pending.get(client);
    if (!pending)
      this.pending.set(client, (pending = { requests: 0, upstream_calls: 0, prompt_tokens: 0, completion_tokens: 0 }));
    for (const figure of FLEET_FIGURES) pending[figure] += figures[figure] ?? 0;
  }

  /** The fleet's totals of `client` today (sent figures and this replica's pending ones), or undefined (no answer). */
  async totals(client: string): Promise<FleetTotals | undefined> {
    await this.flush();
    const day = this.clock.day();
    const read = await Promise.all(FLEET_FIGURES.map((figure) => this.send(client, day, figure, 0)));
    if (read.some((total) => total === undefined)) return undefined;
    return Object.fromEntries(FLEET_FIGURES.map((figure, i) => [figure, read[i]])) as FleetTotals;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Stops the flushes and sends what is pending (at close). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Sends what is pending; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.sendPending());
    return this.flushing;
  }

  private async sendPending(): Promise<void> {
    if (!this.counters.shared() || this.pending.size === 0) return;
    const day = this.day;
    const batch = this.pending;
    this.pending = new Map();
    await Promise.all(
      [...batch].flatMap(([client, figures]) =>
        FLEET_FIGURES.filter((figure) => figures[figure] !== 0).map(async (figure) => {
          const total = await this.send(client, day, figure, figures[figure]);
          // Not sent: kept for the next flush, unless the day has turned meanwhile (yesterday's figures go).
          if (total === undefined && day === this.clock.day()) this.add(client, { [figure]: figures[figure] });
        }),
      ),
    );
  }

  private send(client: string, day: string, figure: FleetFigure, by: number): Promise<number | undefined> {
    return this.counters.increment(`usage:${client}:${day}:${figure}`, by, this.clock.resetsAt() + COUNTER_GRACE_MS);
  }

  private roll(): void {
    const day = this.clock.day();
    if (day === this.day) return;
    this.day = day;
    this.pending = new Map();
  }
}
