import https from 'node:https';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import { refusalLogger, requireAccessToken, requireAdminForBrowser, requireAdminToken } from './engine/access.js';
import { BodyBudget } from './engine/body-budget.js';
import type { BalancerContext } from './engine/context.js';
import { sendError } from './answers/error-response.js';
import { BalanceConfigError } from './options/errors.js';
import { HealthChecker, type ProbeResult } from './upstream/health-checker.js';
import { internals } from './internals.js';
import { BalancerMetrics } from './observe/metrics.js';
import { KeyAdmin, type KeyCheck } from './engine/key-admin.js';
import type { ReplaceOptions } from './engine/key-replacer.js';
import type { BalanceOptions, KeySpec } from './options/options.js';
import { KeyPool, type MembershipChange } from './pool/pool.js';
import { poolEvents } from './observe/pool-events.js';
import { SharedState } from './store/shared-state.js';
import { ProxiedRequest } from './engine/request-flow.js';
import { resolveOptions, type ResolvedConfig } from './options/resolve-options.js';
import { KeyScrubber } from './upstream/scrub.js';
import { silentLogger } from './observe/logger.js';
import { keyStats, type KeyStats } from './views/key-stats.js';
import { balancerRouter } from './express/router.js';
import { requestTarget } from './upstream/target.js';
import { TaskAffinity } from './pool/task-affinity.js';
import { UpstreamProxy } from './upstream/upstream-proxy.js';
import { UnknownAnswers } from './observe/unknown-answers.js';
import { startBalanceProbe } from './observe/balance-watch.js';

/**
 * What `modelscopeBalance()` returns: an Express Router (mount it with `app.use()`, Express 4 or 5) holding
 * /health, /stats, the metrics route and the proxy, with a few handles attached. It is also a plain `node:http`
 * request listener: `http.createServer((req, res) => balancer(req, res))`.
 */
export type Balancer = Router & BalancerHandles & ((req: IncomingMessage, res: ServerResponse) => void);

/** The handles on a balancer, besides the Router itself. */
export interface BalancerHandles {
  /** The prom-client Registry the metrics are in. */
  readonly registry: Registry;
  /** The per-key view /stats serves, keyed by label. */
  stats(): Record<string, KeyStats>;
  /** Runs one round of health probes now and resolves when it is done. */
  checkHealth(): Promise<void>;
  /**
   * Stops health checks, refuses new requests (503) and frees upstream sockets once requests in flight end. Safe to
   * call twice.
   */
  close(): Promise<void>;
  /**
   * Adds a key at runtime and returns its label; a duplicate or malformed key throws a BalanceConfigError (never
   * quoting the key).
   */
  addKey(spec: string | KeySpec): string;
  /**
   * Removes a key: no new request uses it, requests and streams under way on it finish, its metric series go. False
   * when unknown.
   */
  removeKey(label: string): boolean;
  /** Holds a key (state `disabled`): no traffic, no probes, until `enableKey`. False when unknown. */
  disableKey(label: string): boolean;
  /** Releases a held key. False when unknown. */
  enableKey(label: string): boolean;
  /**
   * Makes the pool exactly `specs` (with `{ keepAdded: true }`, plus the keys added with `addKey` that `specs` does
   * not list): kept keys keep their state and counts. Throws, changing nothing, on a bad spec.
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
}

function requestLogCheck(logger: ResolvedConfig['logger']): () => boolean {
  if (logger === silentLogger) return () => false;
  const levelCheck = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof levelCheck === 'function' ? () => levelCheck.call(logger, 'info') : () => true;
}

/** Probe settings for an operator's check when periodic health checks are off. */
const MANUAL_PROBES = { path: '/v1/models', intervalMs: 30_000, timeoutMs: 10_000, concurrency: 1 };

function looksLikeRequest(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'method' in value && 'headers' in value && 'socket' in value;
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
  const config = resolveOptions(options);
  let metrics!: BalancerMetrics;
  let shared!: SharedState;
  const scrubber = new KeyScrubber(config.keys.map((k) => k.key));
  const pool = new KeyPool(
    config.keys,
    {
      strategy: config.strategy,
      failureThreshold: config.failureThreshold,
      cooldownBaseMs: config.cooldown.baseMs,
      cooldownMaxMs: config.cooldown.maxMs,
      invalidKeyRetryMs: config.invalidKeyRetryMs,
      resetTimeZone: config.quota.resetTimeZone,
      resetMinutes: config.quota.resetMinutes,
      assumeExhaustedAfter: config.quota.assumeExhaustedAfter,
      exhaustedTrialMs: config.quota.exhaustedTrialMs,
      now: config.now,
    },
    poolEvents(
      config,
      () => metrics,
      () => shared,
      () => scrubber,
    ),
  );
  shared = new SharedState(pool, config.store, (reason) => metrics.storeRejected.inc({ reason }));
  metrics = BalancerMetrics.claim(config.registry, config.metricsPrefix);
  const storeStatus = () => config.store.status();
  metrics.attach(pool, storeStatus);
  // No cap on sockets: a request queued for a socket would reach http-proxy's proxyReq after its body was due.
  const agentOptions = { keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const agent = config.target.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const target = requestTarget(config.target);
  const ctx: BalancerContext = {
    config,
    pool,
    metrics,
    logger: config.logger,
    proxy: new UpstreamProxy(config.target, agent),
    scrubber,
    bodies: new BodyBudget(config.maxBufferedBytes),
    tasks: new TaskAffinity(config.taskAffinity.maxEntries, config.taskAffinity.ttlMs),
    logsRequests: requestLogCheck(config.logger),
    shared,
    unknownAnswers: new UnknownAnswers(config.logger, (text) => scrubber.scrub(text)),
  };
  shared.start();
  // Off unless `quota.balanceUrl` is set: the only host besides `target` a key is ever sent to.
  const balances = startBalanceProbe(config, pool);

  // Built even without periodic checks: an operator may still probe one key now (`checkKey`).
  const checker = new HealthChecker({
    pool,
    target,
    agent,
    options: config.healthCheck || MANUAL_PROBES,
    now: config.now,
    onProbe(entry, result: ProbeResult) {
      metrics.healthChecks.inc({ key: entry.label, result });
      const now = config.now();
      const error =
        result === 'ok'
          ? undefined
          : {
              status: result === 'refused' ? 401 : ('error' as const),
              reason: result === 'refused' ? 'probe refused the token' : 'health probe failed',
              at: now,
            };
      pool.probed(entry, result, error);
    },
  });
  if (config.healthCheck) checker.start();
  const keys = new KeyAdmin(ctx, (entry) => checker.probeNow(entry));

  const onRefused = refusalLogger(config.logger);
  const requireAdmin = config.adminToken ? requireAdminToken(config.adminToken, onRefused) : undefined;
  const requireAdminInBrowser = config.adminToken ? requireAdminForBrowser(config.adminToken, onRefused) : undefined;
  const requireAccess = config.accessTokens.length > 0 ? requireAccessToken(config.accessTokens, onRefused) : undefined;

  /** Everything that is not one of the balancer's own routes goes through the pool. */
  function proxyThroughPool(req: IncomingMessage, res: ServerResponse): void {
    if (requireAccess && !requireAccess(req, res)) return;
    new ProxiedRequest(ctx, req, res).run().catch((error: unknown) => {
      config.logger.error({ err: ctx.scrubber.scrub(String(error)) }, 'unexpected error while proxying');
      sendError(res, 500, 'internal_error', 'The balancer failed while handling this request.');
    });
  }

  const stats = () => {
    const now = pool.now();
    return Object.fromEntries(
      pool.entries.map((entry) => [entry.label, keyStats(pool, entry, now, shared.fleetRequests(entry))]),
    );
  };
  const router = balancerRouter({
    config,
    pool,
    logger: config.logger,
    requireAdmin,
    proxy: proxyThroughPool,
    closed: () => closing !== undefined,
    keys,
    stats,
    // Fleet counts are read from the store only when someone asks for them: an idle fleet sends nothing.
    freshStats: async () => {
      await shared.readFleetCounts();
      return stats();
    },
    requireAdminInBrowser,
  });
  let closing: Promise<void> | undefined;
  Object.defineProperty(router, internals, { value: ctx });
  return Object.assign(router, {
    registry: config.registry,
    stats,
    checkHealth: () => (config.healthCheck ? checker.runRound() : Promise.resolve()),
    addKey: (spec) => keys.add(spec),
    removeKey: (label) => keys.remove(label),
    disableKey: (label) => keys.hold(label, true),
    enableKey: (label) => keys.hold(label, false),
    replaceKeys: (specs, replaceOptions) => keys.replace(specs, replaceOptions),
    replaceKeysGradually: (specs, replaceOptions) => keys.replaceGradually(specs, replaceOptions),
    checkKey: (label) => keys.check(label),
    scrub: (text) => scrubber.scrub(text),
    /**
     * New requests get 503 from now on; requests in flight (streams too) finish
     * on their sockets, which then close instead of going back to the pool.
     */
    close() {
      closing ??= (async () => {
        await checker.stop();
        await balances?.stop();
        await config.store.close();
        metrics.detach(pool, storeStatus);
        metrics.release();
        (agent as unknown as { keepAlive: boolean }).keepAlive = false;
        for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
      })();
      return closing;
    },
  } satisfies BalancerHandles) as Balancer;
}
