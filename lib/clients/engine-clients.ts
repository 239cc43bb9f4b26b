// The named clients in an engine: who a proxied request is from (at admission: a client's token, an access token,
// or 401 as without clients), the gate of its limits before any upstream call, the clients' metrics, and the state
// file. A balancer with neither `clients` nor `accessTokens` is open: its requests get no ticket and pay nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type OnRefused, presentedToken, requireAccessToken } from '../engine/access.js';
import type { Gate } from '../engine/request-deps.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import type { CompleteStore } from '../store/complete-store.js';
import { ClientBook, type ClientsState } from './client-book.js';
import { ClientMetrics } from './client-metrics.js';
import type { ClientTicket } from './client-ticket.js';
import type { FleetCounters } from './daily-budget.js';
import { StateFile } from './state-file.js';

export interface EngineClients {
  readonly book: ClientBook;
  /**
   * The ticket of a proxied request: undefined on an open balancer (no check), null when its token is nobody's
   * (answered 401 `invalid_access_token`, logged without the token).
   */
  admit(req: IncomingMessage, res: ServerResponse): ClientTicket | undefined | null;
  /** The clients' limits, before any upstream call: none on an open balancer (no await per request there). */
  readonly gates: readonly Gate[];
  /** Writes the state file a last time and sends the fleet's figures. */
  close(): Promise<void>;
}

export interface EngineClientsDeps {
  isPoolKey(token: string): boolean;
  holdsKeyPiece(text: string): boolean;
  now(): number;
  onRefused: OnRefused;
}

export function engineClients(config: ResolvedConfig, deps: EngineClientsDeps): EngineClients {
  const metrics = ClientMetrics.of(config.registry, config.metricsPrefix);
  const book = new ClientBook({
    clients: config.clients,
    accessTokens: config.accessTokens,
    adminToken: config.adminToken,
    isPoolKey: deps.isPoolKey,
    holdsKeyPiece: deps.holdsKeyPiece,
    resetTimeZone: config.quota.resetTimeZone,
    resetMinutes: config.quota.resetMinutes,
    now: deps.now,
    counters: fleetCounters(config.store),
    ended: (client, outcome, end) => metrics.ended(client, outcome, end),
    forgotten: (name) => metrics.forget(name),
  });
  const stateFile =
    config.stateFile === undefined
      ? undefined
      : new StateFile({ path: config.stateFile, read: () => book.state(), logger: config.logger, isEmpty });
  if (stateFile) {
    book.restore(stateFile.load());
    stateFile.start();
  }
  book.start();
  // No token list: every request it is asked about is refused, with the access check's own 401 and log line.
  const refuse = requireAccessToken([], deps.onRefused);
  return {
    book,
    admit(req, res) {
      if (!book.required) return undefined;
      const ticket = book.admit(presentedToken(req.headers));
      if (ticket) return ticket;
      refuse(req, res);
      return null;
    },
    gates: book.required ? [(request) => request.ticket?.check(request)] : [],
    async close() {
      await book.stop();
      await stateFile?.stop();
    },
  };
}

/**
 * The shared store's counters (Store v2's `increment`, bounded by CompleteStore: undefined without an answer in
 * 250 ms, or while degraded), or undefined for a store that shares nothing (the MemoryStore): counting stays in this
 * process, synchronous.
 */
function fleetCounters(store: CompleteStore): FleetCounters | undefined {
  if (store.status() === 'local') return undefined;
  return {
    shared: () => store.status() !== 'local',
    increment: (name, by, expiresAt) => store.increment(name, by, expiresAt),
  };
}

/** A state with nothing counted: no file is made for it. */
function isEmpty(state: unknown): boolean {
  const { usage, budget } = state as ClientsState;
  return Object.keys(usage).length === 0 && Object.keys(budget).length === 0;
}
