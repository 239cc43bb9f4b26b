// The named clients of one balancer: who they are (the registry), what they may use (tickets, per request), what they
// used today (the usage book, the daily budget), and the changes an operator makes at runtime, each checked whole
// before anything changes.
import { ANONYMOUS, changedLimits, type CheckedClient, checkClient, checkClients, checkName } from './check-client.js';
import { ClientChangeError } from './client-change-error.js';
import type { ClientEntry } from './client-entry.js';
import { type ClientsChange, ClientRegistry, limitsShown } from './client-registry.js';
import { ClientTicket, type TicketDeps } from './client-ticket.js';
import { DailyBudget, type FleetCounters } from './daily-budget.js';
import { DayClock } from './day-clock.js';
import { FleetUsage } from './fleet-usage.js';
import { UsageBook, type UsageRecord, usageRecord } from './usage-book.js';

export interface ClientBookOptions {
  /** The `clients` option once checked (`resolveClients`), or undefined when it was left out. */
  clients: readonly CheckedClient[] | undefined;
  accessTokens: readonly string[];
  adminToken: string | undefined;
  /** Whether a token is one of the pool's keys (which change at runtime). */
  isPoolKey(token: string): boolean;
  /** Whether a text holds a 12-character piece of a pool key: such a name would show it in metrics and logs. */
  holdsKeyPiece?(text: string): boolean;
  resetTimeZone: string;
  /** Minutes after local midnight of the daily reset. */
  resetMinutes: number;
  now(): number;
  /** The shared store's counters, when it has them. */
  counters?: FleetCounters;
  ended?: TicketDeps['ended'];
  /** A client was removed: its figures go (metric series). */
  forgotten?(name: string): void;
}

/** A client's figures of the day, as /usage answers them. */
export interface UsageReport extends UsageRecord {
  client: string;
  /** Requests left today; null without a daily limit. */
  remaining: number | null;
  /** When the day's figures start again (ISO time). */
  resets_at: string;
}

/** One client's line on the status page. */
export interface ClientOverview {
  name: string;
  requests: number;
  dailyRequests: number | null;
  inFlight: number;
  maxInFlight: number | null;
  promptTokens: number;
  completionTokens: number;
}

/** The state kept across a restart: today's figures of this process. */
export interface ClientsState {
  version: 1;
  day: string;
  usage: Record<string, UsageRecord>;
  budget: Record<string, number>;
}

export class ClientBook {
  readonly registry: ClientRegistry;
  private readonly clock: DayClock;
  private readonly budget: DailyBudget;
  private readonly usage: UsageBook;
  /** The fleet's totals, with a shared store that counts. */
  private readonly fleet: FleetUsage | undefined;
  private readonly ticketDeps: TicketDeps;
  /** Whether a proxied request must present a token: clients or access tokens were configured. */
  readonly required: boolean;

  constructor(private readonly options: ClientBookOptions) {
    this.registry = new ClientRegistry(options.clients ?? [], options.accessTokens, options.now);
    this.required = options.clients !== undefined || options.accessTokens.length > 0;
    this.clock = new DayClock(options.resetTimeZone, options.resetMinutes, options.now);
    this.budget = new DailyBudget(this.clock, options.counters);
    this.usage = new UsageBook(this.clock);
    const fleet = options.counters && new FleetUsage(options.counters, this.clock);
    this.fleet = fleet;
    const usage = this.usage;
    this.ticketDeps = {
      budget: this.budget,
      usage: {
        record(client, end) {
          usage.record(client, end);
          fleet?.add(client, {
            requests: end.upstreamCalls > 0 ? 1 : 0,
            upstream_calls: end.upstreamCalls,
            prompt_tokens: end.promptTokens,
            completion_tokens: end.completionTokens,
          });
        },
      },
      now: options.now,
      resetsAt: () => this.clock.resetsAt(),
      ended: options.ended,
    };
  }

  /** The ticket of a request presenting `token`; undefined when the token is nobody's (401). */
  admit(token: string | undefined): ClientTicket | undefined {
    const identity = this.registry.identify(token);
    return identity && new ClientTicket(this.ticketDeps, identity);
  }

  /** The ticket of a request to an open balancer (no clients, no access tokens): anonymous, unlimited. */
  admitAnonymous(): ClientTicket {
    return new ClientTicket(this.ticketDeps, { name: ANONYMOUS });
  }

  /** Adds a client (as `addClient`, POST /admin/clients). */
  add(spec: unknown): ClientEntry {
    this.assertEnabled();
    const client = checkClient(spec, (token) => this.reserved(token));
    this.refuseKeyPieces([client], '');
    return this.registry.add(client);
  }

  /** Changes a client's limits (fields given replace, null removes one), as PATCH /admin/clients/{name}. */
  update(name: string, limits: unknown): ClientEntry {
    const entry = this.registry.get(name);
    if (!entry)
      throw new ClientChangeError('ERR_MSB_CLIENT_NOT_FOUND', 'name', `no client is named ${JSON.stringify(name)}.`);
    return this.registry.update(name, changedLimits(entry.limits, limits));
  }

  /** Removes a client: its token is refused from now on (requests under way finish). */
  remove(name: string): void {
    this.registry.remove(name);
    this.forget(name);
  }

  /** Every named client replaced (a clients file read again): checked whole first, nothing changes on a refusal. */
  replace(specs: unknown, prefix = 'clients'): ClientsChange {
    this.assertEnabled();
    const clients: CheckedClient[] = checkClients(specs, (token) => this.reservedAtStart(token), prefix);
    this.refuseKeyPieces(clients, prefix);
    const change = this.registry.replace(clients);
    for (const name of change.removed) this.forget(name);
    return change;
  }

  /** A client's figures of today, the fleet's daily count read first when the store shares counters. */
  async report(name: string): Promise<UsageReport> {
    const entry = name === ANONYMOUS ? undefined : this.registry.get(name);
    const limit = entry?.limits.dailyRequests;
    const record = usageRecord(this.usage.figures(name));
    const totals = this.fleet && this.options.counters?.shared() ? await this.fleet.totals(name) : undefined;
    if (totals) Object.assign(record, totals);
    const requests = limit === undefined ? record.requests : await this.budget.read(name);
    return {
      client: name,
      ...record,
      requests,
      remaining: limit === undefined ? null : Math.max(0, limit - requests),
      resets_at: new Date(this.clock.resetsAt()).toISOString(),
    };
  }

  /** The figures of a client by name; a ClientChangeError (ERR_MSB_CLIENT_NOT_FOUND) when there is none. */
  async reportOf(name: string): Promise<UsageReport> {
    if (name !== ANONYMOUS && !this.registry.get(name))
      throw new ClientChangeError('ERR_MSB_CLIENT_NOT_FOUND', 'name', `no client is named ${JSON.stringify(name)}.`);
    return this.report(name);
  }

  /** Every client's figures by name, the unnamed access tokens' as `anonymous`. */
  async reports(): Promise<Record<string, UsageReport>> {
    const names = this.registry.list().map((entry) => entry.name);
    if (this.options.accessTokens.length > 0) names.push(ANONYMOUS);
    const reports = await Promise.all(names.map((name) => this.report(name)));
    return Object.fromEntries(reports.map((report) => [report.client, report]));
  }

  /** Every named client's figures as this replica knows them now, without asking the store (the status page). */
  overview(): ClientOverview[] {
    return this.registry.list().map((entry) => {
      const usage = this.usage.figures(entry.name);
      const limit = entry.limits.dailyRequests;
      return {
        name: entry.name,
        requests: limit === undefined ? usage.requests : this.budget.used(entry.name),
        dailyRequests: limit ?? null,
        inFlight: entry.inFlight,
        maxInFlight: entry.limits.maxInFlight ?? null,
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
      };
    });
  }

  /** Every client with its limits, requests under way and figures (GET /admin/clients); the unnamed ones last. */
  async list(): Promise<Array<Record<string, unknown>>> {
    const rows: Array<Record<string, unknown>> = await Promise.all(
      this.registry.list().map(async (entry) => ({
        name: entry.name,
        limits: limitsShown(entry.limits),
        in_flight: entry.inFlight,
        usage: await this.report(entry.name),
      })),
    );
    if (this.options.accessTokens.length > 0)
      rows.push({ name: ANONYMOUS, limits: null, in_flight: null, usage: await this.report(ANONYMOUS) });
    return rows;
  }

  /** Starts sending figures to the fleet's counters (with a shared store that counts). */
  start(): void {
    this.fleet?.start();
  }

  /** Sends what is left to the fleet's counters (at close). */
  async stop(): Promise<void> {
    await this.fleet?.stop();
  }

  /** This process's figures of today, for the state file. */
  state(): ClientsState {
    const { day, clients } = this.usage.snapshot();
    return { version: 1, day, usage: clients, budget: this.budget.snapshot() };
  }

  /** Figures saved by `state()` before a restart; ignored unless they are of today. */
  restore(state: unknown): boolean {
    if (!isState(state) || state.day !== this.clock.day()) return false;
    this.usage.restore(state.day, state.usage);
    const counts = Object.fromEntries(
      Object.entries(state.budget).filter(([, n]) => Number.isSafeInteger(n) && n >= 0),
    ) as Record<string, number>;
    this.budget.restore(state.day, counts);
    return true;
  }

  /** Names checked as a client name (the admin routes' path parameter). */
  static checkName(name: string): string {
    return checkName(name);
  }

  private refuseKeyPieces(clients: readonly CheckedClient[], prefix: string): void {
    const index = clients.findIndex((client) => this.options.holdsKeyPiece?.(client.name));
    if (index === -1) return;
    throw new ClientChangeError(
      'ERR_MSB_CLIENT_INVALID',
      prefix ? `${prefix}[${index}].name` : 'name',
      'holds part of a pool key: a name is shown in metrics and logs; choose another.',
    );
  }

  private forget(name: string): void {
    this.usage.forget(name);
    this.budget.forget(name);
    this.options.forgotten?.(name);
  }

  private assertEnabled(): void {
    if (this.required) return;
    throw new ClientChangeError(
      'ERR_MSB_CLIENTS_OFF',
      'clients',
      'cannot be added to an open balancer (no accessTokens, no clients option): anyone could pass as anyone. ' +
        'Start it with `clients: []` (or a clients file) to add clients at runtime.',
    );
  }

  /** What a new client's token must not be: the admin token, an access token, a pool key, another client's. */
  private reserved(token: string): string | undefined {
    return this.reservedAtStart(token) ?? this.registry.holderOf(token);
  }

  private reservedAtStart(token: string): string | undefined {
    if (token === this.options.adminToken) return 'the admin token';
    if (this.options.accessTokens.includes(token)) return 'one of the access tokens';
    return this.options.isPoolKey(token) ? 'one of the pool keys' : undefined;
  }
}

function isState(value: unknown): value is ClientsState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Record<string, unknown>;
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  return state.version === 1 && typeof state.day === 'string' && isObject(state.usage) && isObject(state.budget);
}
