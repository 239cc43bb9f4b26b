import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import { createEngine, type Engine, type EngineDeps } from './engine/engine.js';
import type { BalancerEventName, BalancerListener } from './engine/events.js';
import type { KeyCheck } from './engine/key-admin.js';
import type { ReplaceOptions } from './engine/key-replacer.js';
import { balancerRouter } from './express/router.js';
import { BalanceConfigError } from './options/errors.js';
import type { BalanceOptions, KeySpec } from './options/options.js';
import { resolveOptions } from './options/resolve-options.js';
import type { MembershipChange } from './pool/pool.js';
import type { KeyStats } from './views/key-stats.js';
import type { UsageReport } from './clients/client-book.js';
import type { ClientsChange } from './clients/client-registry.js';
import type { ClientLimits, ClientSpec } from './clients/client-spec.js';

/**
 * What `modelscopeBalance()` returns: an Express Router (mount it with `app.use()`, Express 4 or 5) holding
 * /health, /stats, the metrics route, /status, the admin API and the proxy, with a few handles attached. It is also a
 * plain `node:http` request listener: `http.createServer((req, res) => balancer(req, res))`.
 */
export type Balancer = Router & BalancerHandles & ((req: IncomingMessage, res: ServerResponse) => void);

/** The handles on a balancer, besides the Router itself. */
export interface BalancerHandles {
  /** The prom-client Registry the metrics are in. */
  readonly registry: Registry;
  /**
   * Listens to one of the balancer's events: `request` (start and end), `attempt`, `keyState`, `store` (see
   * docs/events.md). Payloads carry labels, never keys. A listener that throws is logged; the request goes on.
   */
  on<E extends BalancerEventName>(event: E, listener: BalancerListener<E>): this;
  /** Stops a listener added with `on`. */
  off<E extends BalancerEventName>(event: E, listener: BalancerListener<E>): this;
  /** The per-key view /stats serves, keyed by label. */
  stats(): Record<string, KeyStats>;
  /** The labels of the keys in the pool now, in the pool's order. */
  labels(): string[];
  /**
   * Probes every key now (but disabled keys and those that served a request within the probe interval) and resolves
   * when the round is done, whether or not periodic checks are on.
   */
  checkHealth(): Promise<void>;
  /**
   * Stops health checks, refuses new requests (503) and frees upstream sockets once requests in flight end. Safe to
   * call twice.
   */
  close(): Promise<void>;
  /**
   * Adds a key at runtime and returns its label; a duplicate or malformed key throws a KeyChangeError (never quoting
   * the key).
   */
  addKey(spec: string | KeySpec): string;
  /**
   * Removes a key: no new request uses it, requests and streams under way on it finish, its metric series go. False
   * when unknown.
   */
  removeKey(label: string): boolean;
  /** Disables a key (state `disabled`): no traffic, no probes, until `enableKey`. False when unknown. */
  disableKey(label: string): boolean;
  /** Enables a disabled key. False when unknown. */
  enableKey(label: string): boolean;
  /**
   * Makes the pool exactly `specs` (with `{ keepAdded: true }`, plus the keys added with `addKey` that `specs` does
   * not list): kept keys keep their state and counts. Throws a KeyChangeError, changing nothing, on a bad spec.
   */
  replaceKeys(specs: ReadonlyArray<string | KeySpec>, options?: ReplaceOptions): MembershipChange;
  /**
   * `replaceKeys` for large pools (thousands of keys): the keys are checked and prepared in slices of a few
   * milliseconds between requests, then the pool changes at once. Resolves with the change; rejects, changing
   * nothing, where `replaceKeys` throws. Calls run one after another.
   */
  replaceKeysGradually(specs: ReadonlyArray<string | KeySpec>, options?: ReplaceOptions): Promise<MembershipChange>;
  /** Probes one key now; undefined when the label is unknown. */
  checkKey(label: string): Promise<KeyCheck | undefined>;
  /**
   * `text` with every 12-character piece of every pool key replaced by `[redacted]`, as upstream answers are: for
   * your own logs. Follows the pool as keys come and go.
   */
  scrub(text: string): string;
  /**
   * Adds a named client at runtime (this replica's; a fleet shares its clients through the clients file). Throws a
   * ClientChangeError, changing nothing, for a taken name or token or a broken rule; never quotes the token.
   */
  addClient(spec: ClientSpec): void;
  /** Changes a client's limits: the fields given replace, `null` removes a limit. Throws a ClientChangeError. */
  updateClient(name: string, limits: { [K in keyof ClientLimits]?: ClientLimits[K] | null }): void;
  /** Removes a client: its token is refused from now on; its requests under way finish. Throws when unknown. */
  removeClient(name: string): void;
  /**
   * Makes the named clients exactly `specs` (a clients file read again), checked whole first: kept clients keep
   * their figures and requests under way. Throws a ClientChangeError, changing nothing, on a bad spec.
   */
  replaceClients(specs: readonly ClientSpec[]): ClientsChange;
  /**
   * Today's figures of one client (`/usage`'s answer), or of every client by name (with `anonymous` for the unnamed
   * access tokens). With a shared store that counts, the fleet's.
   */
  usage(): Promise<Record<string, UsageReport>>;
  usage(name: string): Promise<UsageReport>;
}

function looksLikeRequest(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'method' in value && 'headers' in value && 'socket' in value;
}

/**
 * The balancer over an engine built with `deps` (a clock, a proxy factory): how this package's tests reach one
 * without a test-only option. Not exported from the package.
 */
export function buildBalancer(options: BalanceOptions, deps: EngineDeps = {}): { balancer: Balancer; engine: Engine } {
  const engine = createEngine(resolveOptions(options), deps);
  const { keys } = engine;
  const router = balancerRouter(engine);
  const handles: BalancerHandles = {
    registry: engine.registry,
    on(event, listener) {
      engine.events.on(event, listener);
      return this;
    },
    off(event, listener) {
      engine.events.off(event, listener);
      return this;
    },
    stats: () => engine.stats(),
    labels: () => engine.labels(),
    checkHealth: () => engine.checkHealth(),
    close: () => engine.close(),
    addKey: (spec) => keys.add(spec),
    removeKey: (label) => keys.remove(label),
    disableKey: (label) => keys.disable(label),
    enableKey: (label) => keys.enable(label),
    replaceKeys: (specs, replaceOptions) => keys.replace(specs, replaceOptions),
    replaceKeysGradually: (specs, replaceOptions) => keys.replaceGradually(specs, replaceOptions),
    checkKey: (label) => keys.check(label),
    scrub: (text) => engine.scrubber.scrub(text),
    addClient: (spec) => void engine.clients.add(spec),
    updateClient: (name, limits) => void engine.clients.update(name, limits),
    removeClient: (name) => engine.clients.remove(name),
    replaceClients: (specs) => engine.clients.replace(specs),
    usage: ((name?: string) =>
      name === undefined ? engine.clients.reports() : engine.clients.reportOf(name)) as BalancerHandles['usage'],
  };
  return { balancer: Object.assign(router, handles) as Balancer, engine };
}

/**
 * Creates the balancer: an Express Router that serves /health, /stats,
 * /metrics, /status and the admin API, and forwards everything else to
 * ModelScope with a pool key. Options are checked here, once.
 *
 * @example
 * ```ts
 * const balancer = modelscopeBalance({ keys: process.env.MODELSCOPE_API_KEYS!.split(',') });
 * app.use('/ms', balancer);
 * balancer.on('request', (event) => event.phase === 'end' && console.log(event.status, event.key));
 * // on shutdown
 * await balancer.close();
 * ```
 * @throws {BalanceConfigError} when an option is wrong: its `code` (`ERR_MSB_*`), the `option` and the fix.
 */
export function modelscopeBalance(options: BalanceOptions): Balancer {
  // Called as a middleware (`app.use(modelscopeBalance)`): the third argument is Express's `next`.
  // biome-ignore lint/complexity/noArguments: one argument is public; only a mistaken mount passes three
  const next: unknown = arguments[2];
  if (looksLikeRequest(options) && typeof next === 'function') {
    const error = new BalanceConfigError(
      'ERR_MSB_NOT_CALLED',
      'modelscopeBalance',
      'was mounted without being called: write `app.use(modelscopeBalance({ keys: [...] }))`, not ' +
        '`app.use(modelscopeBalance)`.',
    );
    (next as (error: unknown) => void)(error);
    return undefined as unknown as Balancer;
  }
  return buildBalancer(options).balancer;
}
