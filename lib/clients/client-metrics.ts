// The clients' Prometheus counters: requests by client and outcome, tokens by client and direction. Labels are
// bounded by the configured names (plus 'anonymous'): a removed client's series go with it. Created once per
// (registry, prefix), like the balancer's other metrics.
import { Counter, type Registry } from 'prom-client';
import type { ClientOutcome, RequestEnd } from './client-ticket.js';

/** Every outcome a client's request may have, so a removed client's series can all be removed. */
export const CLIENT_OUTCOMES: readonly ClientOutcome[] = [
  'served',
  'not_sent',
  'client_daily_limit',
  'client_rate_limited',
  'client_in_flight_limit',
  'model_not_allowed',
];

export class ClientMetrics {
  private static readonly made = new WeakMap<Registry, Map<string, ClientMetrics>>();
  readonly requests: Counter<'client' | 'outcome'>;
  readonly tokens: Counter<'client' | 'direction'>;

  private constructor(registry: Registry, prefix: string) {
    this.requests = new Counter({
      name: `${prefix}client_requests_total`,
      help: 'Requests of each client (anonymous: unnamed access tokens) by outcome: served, not_sent, or the limit.',
      labelNames: ['client', 'outcome'],
      registers: [registry],
    });
    this.tokens = new Counter({
      name: `${prefix}client_tokens_total`,
      help: 'Tokens the answers to each client reported using, by direction (prompt, completion).',
      labelNames: ['client', 'direction'],
      registers: [registry],
    });
  }

  /** The counters of `registry` under `prefix`, made on first use. */
  static of(registry: Registry, prefix: string): ClientMetrics {
    let byPrefix = ClientMetrics.made.get(registry);
    if (!byPrefix) ClientMetrics.made.set(registry, (byPrefix = new Map()));
    let metrics = byPrefix.get(prefix);
    if (!metrics) byPrefix.set(prefix, (metrics = new ClientMetrics(registry, prefix)));
    return metrics;
  }

  /** Counts one ended request of `client`. */
  ended(client: string, outcome: ClientOutcome, end: RequestEnd): void {
    this.requests.inc({ client, outcome });
    if (end.promptTokens) this.tokens.inc({ client, direction: 'prompt' }, end.promptTokens);
    if (end.completionTokens) this.tokens.inc({ client, direction: 'completion' }, end.completionTokens);
  }

  /** A removed client's series go: labels stay bounded by the clients configured. */
  forget(client: string): void {
    for (const outcome of CLIENT_OUTCOMES) this.requests.remove({ client, outcome });
    for (const direction of ['prompt', 'completion']) this.tokens.remove({ client, direction });
  }
}
