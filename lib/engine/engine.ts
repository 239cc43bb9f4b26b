// The engine: the pool, the store it shares state through, the upstream
// proxy, the health checker, the key admin and the events, each given what it
// uses, and `handle()` for a proxied request. No Express here: the Express
// adapter (express/, balancer.ts) mounts it, and the metrics, the log and
// replication are listeners of its events.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Registry } from 'prom-client';
import { sendError } from '../answers/send.js';
import { startBalanceProbe } from '../observe/balance-watch.js';
import { logEvents } from '../observe/logging.js';
import { countEvents } from '../observe/metric-events.js';
import { BalancerMetrics } from '../observe/metrics.js';
import { refusalLogger } from '../observe/refusal-log.js';
import { UnknownAnswers } from '../observe/unknown-answers.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import { KeyPool } from '../pool/pool.js';
import { TaskAffinity } from '../pool/task-affinity.js';
import { replicate, watchStoreStatus } from '../store/replication.js';
import { SharedState } from '../store/shared-state.js';
import { HealthChecker } from '../upstream/health-checker.js';
import { KeyScrubber } from '../upstream/scrub.js';
import { requestTarget } from '../upstream/target.js';
import { type ProxyFactory, UpstreamProxy } from '../upstream/upstream-proxy.js';
import { keyStats, type KeyStats } from '../views/key-stats.js';
import type { OnRefused } from './access.js';
import type { ClientBook } from '../clients/client-book.js';
import { engineClients } from '../clients/engine-clients.js';
import { BodyBudget } from './body-budget.js';
import { type BalancerEvents, Emitter } from './events.js';
import { ModelRouter } from '../model-routes/model-router.js';
import { KeyAdmin } from './key-admin.js';
import { poolSignals } from './pool-signals.js';
import type { RequestDeps } from './request-deps.js';
import { RequestFlow } from './request-flow.js';
import type { EngineSignals } from './signals.js';

/** What an engine may be given instead of its defaults: for tests, never part of the public options. */
export interface EngineDeps {
  /** The clock, in epoch milliseconds. Defaults to `Date.now`. */
  now?: () => number;
  /** Makes the http-proxy-middleware handler every attempt goes through. Defaults to HPM's `createProxyMiddleware`. */
  createProxyMiddleware?: ProxyFactory;
}

export interface Engine {
  readonly config: ResolvedConfig;
  readonly pool: KeyPool;
  readonly scrubber: KeyScrubber;
  readonly keys: KeyAdmin;
  /** The named clients (and the unnamed access tokens): tickets, limits, figures, runtime changes. */
  readonly clients: ClientBook;
  /** The public events (`balancer.on`). */
  readonly events: Emitter<BalancerEvents>;
  readonly registry: Registry;
  /** Logs a request refused for its token, at most one line per interval (the engine's and the routes' guards). */
  readonly onRefused: OnRefused;
  /** Answers a request for the upstream: through the pool, or refused (access, method, path, body, no key). */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Every key as /stats shows it, keyed by label. */
  stats(): Record<string, KeyStats>;
  /** The same, with the fleet's request counts read from the store first. */
  freshStats(): Promise<Record<string, KeyStats>>;
  /** The labels of the keys in the pool, in its order. */
  labels(): string[];
  /** The shared store's reachability ('local' when it shares nothing). */
  storeStatus(): 'ok' | 'degraded' | 'local';
  /** Probes every key (but the disabled and the recently successful) now, whether or not periodic checks are on. */
  checkHealth(): Promise<void>;
  /** Whether `close()` was called. */
  isClosed(): boolean;
  close(): Promise<void>;
}

/** Probe settings for an operator's check when periodic health checks are off. */
const MANUAL_PROBES = { path: '/v1/models', intervalMs: 30_000, timeoutMs: 10_000, concurrency: 1 };

export function createEngine(config: ResolvedConfig, deps: EngineDeps = {}): Engine {
  const now = deps.now ?? Date.now;
  const { logger } = config;
  const scrubber = new KeyScrubber(config.keys.map((k) => k.key));
  const listenerFailed = (error: unknown, name: string | number | symbol) =>
    logger.error({ event: String(name), err: scrubber.scrub(String(error)).slice(0, 200) }, 'an event listener threw');
  const events = new Emitter<BalancerEvents>(listenerFailed);
  const signals = new Emitter<EngineSignals>(listenerFailed);
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
      now,
    },
    poolSignals(events, signals, now),
  );
  const metrics = BalancerMetrics.claim(config.registry, config.metricsPrefix);
  const shared = new SharedState(pool, config.store, (reason) => events.emit('store', { rejected: reason }), logger);
  const storeStatus = () => config.store.status();
  metrics.attach(pool, storeStatus);
  countEvents(metrics, events, signals);
  logEvents(logger, events, signals, {
    exhaustedTrialMs: config.quota.exhaustedTrialMs,
    scrub: (text) => scrubber.scrub(text),
  });
  replicate(signals, shared);
  // Only once no request is left on it: an answer still streaming on a removed key is still scrubbed.
  signals.on('retired', (entry) => scrubber.remove(entry.key));
  // Not awaited: requests are served at once, on this replica's own state, until the store answers.
  void shared.start();
  const stopStoreWatch = watchStoreStatus(config.store, (status) => events.emit('store', { status }));
  // Off unless `quota.balanceUrl` is set: the only host besides `target` a key is ever sent to.
  const balances = startBalanceProbe(config, pool);

  // No cap on sockets: a request queued for a socket would reach http-proxy's proxyReq after its body was due.
  const agentOptions = { keepAlive: true, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const agent = config.target.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  // Built even without periodic checks: an operator may still probe now (`checkHealth`, `checkKey`).
  const checker = new HealthChecker({
    pool,
    target: requestTarget(config.target),
    agent,
    options: config.healthCheck || MANUAL_PROBES,
    now,
    onProbe(entry, result) {
      signals.emit('probed', { label: entry.label, result });
      const error =
        result === 'ok'
          ? undefined
          : {
              status: result === 'refused' ? 401 : ('error' as const),
              reason: result === 'refused' ? 'probe refused the token' : 'health probe failed',
              at: now(),
            };
      pool.probed(entry, result, error);
    },
  });
  if (config.healthCheck) checker.start();
  const keys = new KeyAdmin({
    pool,
    scrubber,
    logger,
    keyFormat: config.keyFormat,
    maxKeys: config.maxKeys,
    events,
    signals,
    probe: (entry) => checker.probeNow(entry),
  });

  const tasks = new TaskAffinity(config.taskAffinity.maxEntries, config.taskAffinity.ttlMs);
  const onRefused = refusalLogger(logger);
  const clients = engineClients(config, {
    isPoolKey: (token) => pool.hasKey(token),
    holdsKeyPiece: (text) => scrubber.scrub(text) !== text,
    now,
    onRefused,
  });
  const requestDeps: RequestDeps = {
    pool,
    now,
    events,
    scrubber,
    tasks,
    fleet: shared,
    proxy: new UpstreamProxy(config.target, agent, deps.createProxyMiddleware),
    unknownAnswers: new UnknownAnswers(logger, (text) => scrubber.scrub(text)),
    host: config.target.host,
    targetPath: config.target.pathname,
    timeouts: config.timeouts,
    totalMs: config.timeouts.totalMs,
    idleMs: config.timeouts.idleMs,
    retry: config.retry,
    queueTimeoutMs: config.queueTimeoutMs,
    invalidKeyRetryMs: config.invalidKeyRetryMs,
    forwardClientAddress: config.forwardClientAddress,
    maxBodyBytes: config.maxBodyBytes,
    bodies: new BodyBudget(config.maxBufferedBytes),
    gates: clients.gates,
    modelRoutes: new ModelRouter(config.modelRoutes, pool, (route, from, to) =>
      signals.emit('modelFallback', { route, from, to }),
    ),
    sent: (entry) => signals.emit('sent', entry),
    failedOver: (reason) => signals.emit('failover', reason),
    noKey: (reason) => signals.emit('noKey', reason),
    taskSubmitted(taskId, outcome) {
      tasks.remember(taskId, outcome.lease.entry, now());
      signals.emit('taskSubmitted', { taskId, entry: outcome.lease.entry, ttlMs: config.taskAffinity.ttlMs });
    },
  };

  const stats = () => {
    const at = now();
    return Object.fromEntries(
      pool.entries.map((entry) => [entry.label, keyStats(pool, entry, at, shared.fleetRequests(entry))]),
    );
  };
  let closing: Promise<void> | undefined;
  return {
    config,
    pool,
    scrubber,
    keys,
    events,
    registry: config.registry,
    clients: clients.book,
    onRefused,
    handle(req, res) {
      const ticket = clients.admit(req, res);
      if (ticket === null) return;
      new RequestFlow(requestDeps, req, res, ticket).run().catch((error: unknown) => {
        logger.error({ err: scrubber.scrub(String(error)) }, 'unexpected error while proxying');
        sendError(res, 500, 'internal_error', 'The balancer failed while handling this request.');
      });
    },
    stats,
    // Fleet counts are read from the store only when someone asks for them: an idle fleet sends nothing.
    async freshStats() {
      await shared.readFleetCounts();
      return stats();
    },
    labels: () => pool.entries.map((entry) => entry.label),
    storeStatus,
    checkHealth: () => checker.runRound(),
    isClosed: () => closing !== undefined,
    /**
     * New requests get 503 from now on; requests in flight (streams too) finish
     * on their sockets, which then close instead of going back to the pool.
     */
    close() {
      closing ??= (async () => {
        await checker.stop();
        await balances?.stop();
        stopStoreWatch();
        await clients.close();
        await shared.stop();
        metrics.detach(pool, storeStatus);
        metrics.release();
        (agent as unknown as { keepAlive: boolean }).keepAlive = false;
        for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
      })();
      return closing;
    },
  };
}
