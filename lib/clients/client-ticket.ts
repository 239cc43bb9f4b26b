// One request of a known client, from admission to its end: the limits checked before any upstream call (the model
// allowlist, maxInFlight, requestsPerMinute, then dailyRequests, which may ask the shared store), and at the end
// what it took given back or counted. A refusal never spends a slot of the day nor a pool key's quota.
import type { ClientEntry } from './client-entry.js';
import type { Identity } from './client-registry.js';
import { type ClientRefusal, dailyLimit, inFlightLimit, modelNotAllowed, rateLimited } from './client-refusal.js';
import type { DailyBudget, Reservation } from './daily-budget.js';
import type { UsageBook } from './usage-book.js';
import type { TokenUsage as EventUsage } from '../engine/events.js';
import { eventUsage, UsageRelayTap } from './usage-relay-tap.js';

/** What the limits need of a request. */
export interface GatedRequest {
  readonly method: string;
  /** The model named in the body, as the client sent it (before any model route). */
  modelName(): string | undefined;
}

/** How a request ended, for the client's figures. */
export interface RequestEnd {
  upstreamCalls: number;
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
}

/** How a request of a client ended, for metrics: served, refused by which limit, or not sent (no key, gone). */
export type ClientOutcome = 'served' | 'not_sent' | ClientRefusal['code'];

/** What tickets share: the budget, the figures, the clock. */
export interface TicketDeps {
  budget: DailyBudget;
  /** Where an ended request's figures go. */
  usage: Pick<UsageBook, 'record'>;
  now(): number;
  resetsAt(): number;
  /** A request of a client ended (metrics). */
  ended?(client: string, outcome: ClientOutcome, end: RequestEnd): void;
}

export class ClientTicket {
  private holdsInFlight = false;
  private holdsSlot = false;
  private refusedWith: ClientRefusal['code'] | undefined;
  private done = false;
  /** Reads the answer's token usage as the relay passes it on (never holding a chunk back). */
  readonly tap = new UsageRelayTap();

  constructor(
    private readonly deps: TicketDeps,
    readonly identity: Identity,
  ) {}

  get name(): string {
    return this.identity.name;
  }

  /** The client's limits, in order: a refusal, or undefined to go on (a promise only when the store is asked). */
  check(request: GatedRequest): ClientRefusal | undefined | Promise<ClientRefusal | undefined> {
    const entry = this.identity.entry;
    if (!entry) return undefined;
    const { limits } = entry;
    const now = this.deps.now();
    if (limits.models && !this.modelAllowed(request, limits.models))
      return this.refused(modelNotAllowed(entry.name, request.modelName(), limits.models));
    if (limits.maxInFlight !== undefined && entry.inFlight >= limits.maxInFlight)
      return this.refused(inFlightLimit(entry.name, limits.maxInFlight));
    entry.inFlight++;
    this.holdsInFlight = true;
    const waitMs = entry.bucket?.take(now) ?? 0;
    if (waitMs > 0) return this.refused(rateLimited(entry.name, entry.bucket?.perMinute ?? 0, waitMs));
    if (limits.dailyRequests === undefined) return undefined;
    const reserved = this.deps.budget.reserve(entry.name, limits.dailyRequests);
    return reserved instanceof Promise
      ? reserved.then((r) => this.afterReservation(entry, r))
      : this.afterReservation(entry, reserved);
  }

  /** The request ended after `upstreamCalls` attempts: counted with the usage its answer reported (returned). */
  finish(upstreamCalls: number, model: string | undefined): EventUsage | undefined {
    const usage = this.tap.usage();
    this.end({ upstreamCalls, model, promptTokens: usage?.promptTokens, completionTokens: usage?.completionTokens });
    return usage && eventUsage(usage);
  }

  /**
   * The request ended (answered, refused, or the client left): the in-flight count and an unused slot of the day go
   * back, and the figures are counted. Once; later calls do nothing.
   */
  end(end: RequestEnd): void {
    if (this.done) return;
    this.done = true;
    const { entry } = this.identity;
    if (this.holdsInFlight && entry) entry.inFlight--;
    if (this.holdsSlot && end.upstreamCalls === 0) this.deps.budget.release(this.name);
    // A client removed meanwhile is forgotten: its figures must not come back (nor go to a new client of that name).
    if (entry?.removed) return;
    if (this.refusedWith === undefined) this.deps.usage.record(this.name, end);
    this.deps.ended?.(this.name, this.refusedWith ?? (end.upstreamCalls > 0 ? 'served' : 'not_sent'), end);
  }

  /** GET and HEAD (listings, task polls) name no model; any other request must name a listed one. */
  private modelAllowed(request: GatedRequest, models: ReadonlySet<string>): boolean {
    if (request.method === 'GET' || request.method === 'HEAD') return true;
    const model = request.modelName();
    return model !== undefined && models.has(model);
  }

  private afterReservation(entry: ClientEntry, reservation: Reservation): ClientRefusal | undefined {
    if (this.done) {
      // The client left while the store was asked: the request has ended already, so its slot goes straight back.
      if (reservation.ok) this.deps.budget.release(this.name);
      return undefined;
    }
    if (reservation.ok) {
      this.holdsSlot = true;
      return undefined;
    }
    // Refused for the day: the minute's token was not used.
    entry.bucket?.giveBack();
    const limit = entry.limits.dailyRequests ?? reservation.used;
    return this.refused(dailyLimit(entry.name, limit, this.deps.resetsAt(), this.deps.now()));
  }

  private refused(refusal: ClientRefusal): ClientRefusal {
    this.refusedWith = refusal.code;
    return refusal;
  }
}
