import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { DEFAULTS, STRATEGIES } from './defaults.js';
import { rejectUnknownOptions } from './errors.js';
import { namesHoldingPieces } from './key-label.js';
import { describe, fail, httpUrl, isNonBlankString, optional, positiveInteger, section } from './option-checks.js';
import { resolveQuota, type ResolvedQuota } from './resolve-quota.js';
import { isKeyFormat, KEY_FORMATS, type KeyFormat } from './key-format.js';
import { resolveKeys, type ResolvedKey } from './resolve-keys.js';
import { completeLogger, isLoggerOption, type Logger } from '../observe/logger.js';
import type {
  CooldownOptions,
  CorsOptions,
  HealthCheckOptions,
  MetricsOptions,
  Options,
  RetryOptions,
  RoutesOptions,
  Strategy,
  TaskAffinityOptions,
  TimeoutOptions,
} from './options.js';
import type { CheckedClient } from '../clients/check-client.js';
import { resolveClients } from '../clients/resolve-clients.js';
import { CompleteStore } from '../store/complete-store.js';
import { MemoryStore, storeProblem, type Store } from '../store/store.js';
import { resolveModelRoutes, type ResolvedModelRoutes } from '../model-routes/model-routes.js';

export type { ResolvedKey } from './resolve-keys.js';

/** The complete, frozen configuration a balancer runs on. Built once. */
export interface ResolvedConfig {
  keys: ResolvedKey[];
  keyFormat: KeyFormat;
  maxKeys: number;
  target: URL;
  healthCheck: HealthCheckOptions | false;
  logger: Logger;
  registry: Registry;
  metrics: MetricsOptions | false;
  metricsPrefix: string;
  retry: { attempts: number; on: ReadonlySet<number>; timeouts: 'idempotent' | 'always' };
  cooldown: CooldownOptions;
  failureThreshold: number;
  invalidKeyRetryMs: number;
  timeouts: TimeoutOptions;
  maxBodyBytes: number;
  maxBufferedBytes: number;
  cors: CorsOptions | false;
  queueTimeoutMs: number;
  strategy: Strategy;
  quota: ResolvedQuota;
  taskAffinity: TaskAffinityOptions;
  modelRoutes: ResolvedModelRoutes;
  accessTokens: string[];
  adminToken: string | undefined;
  forwardClientAddress: boolean;
  /** The store, each optional method answered by its default (see `Store`). */
  store: CompleteStore;
  replicaId: string;
  routes: RoutesOptions;
  /** The named clients, checked; undefined when the option was left out. */
  clients: CheckedClient[] | undefined;
  stateFile: string | undefined;
}

const TOP_LEVEL = [
  'keys',
  'keyFormat',
  'maxKeys',
  'target',
  'healthCheck',
  'logger',
  'registry',
  'metrics',
  'retry',
  'cooldown',
  'failureThreshold',
  'invalidKeyRetryMs',
  'timeouts',
  'maxBodyBytes',
  'maxBufferedBytes',
  'cors',
  'queueTimeoutMs',
  'strategy',
  'quota',
  'taskAffinity',
  'modelRoutes',
  'accessTokens',
  'adminToken',
  'forwardClientAddress',
  'store',
  'replicaId',
  'routes',
  'clients',
  'stateFile',
] as const satisfies ReadonlyArray<keyof Options>;

/** Fails to compile when an option of `Options` is missing from TOP_LEVEL (it would be refused as unknown). */
type Unlisted = Exclude<keyof Options, (typeof TOP_LEVEL)[number]>;
const everyOptionListed: Unlisted extends never ? true : Unlisted = true;
void everyOptionListed;

/** Largest `maxKeys`: a pool's memory grows with its keys (about 1 KiB each), and ten million is gigabytes. */
const MAX_MAX_KEYS = 10_000_000;

/** A value quoted in an error, unless it holds part of a key (a key pasted in the wrong option). */
function quoteSafely(value: string, keys: readonly ResolvedKey[]): string {
  return namesHoldingPieces(
    [value],
    keys.map((k) => k.key),
  ).size > 0
    ? 'a value that contains one of the keys'
    : JSON.stringify(value);
}

function resolveTarget(value: unknown, keys: readonly ResolvedKey[]): URL {
  if (value === undefined) return new URL(DEFAULTS.target);
  const url = httpUrl(value);
  if (!url) {
    fail(
      'target',
      `must be an http(s) URL such as '${DEFAULTS.target}', got ` +
        `${typeof value === 'string' ? quoteSafely(value, keys) : describe(value)}.`,
    );
  }
  if (url.search || url.hash) fail('target', 'must not carry a query string or fragment.');
  // Credentials in the URL would be logged with it at start-up and sent on every request: keys go in `keys`.
  if (url.username || url.password)
    fail('target', 'must not carry credentials (user:password@); put tokens in `keys`.');
  return url;
}

function resolvePath(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !value.startsWith('/'))
    fail(option, `must be a path starting with '/', got ${describe(value)}.`);
  return value;
}

function isTokenList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isNonBlankString);
}

function isOriginList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((o) => typeof o === 'string' && /^https?:\/\/[^/\s]+$/.test(o))
  );
}

function isStrategy(value: unknown): value is Strategy {
  return (STRATEGIES as readonly unknown[]).includes(value);
}

function isRegistry(value: unknown): value is Registry {
  return value instanceof Registry;
}

function isReplicaId(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,128}$/.test(value);
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

function resolveHealthCheck(value: unknown): HealthCheckOptions | false {
  if (value === false) return false;
  const given = section<HealthCheckOptions>('healthCheck', value, ['path', 'intervalMs', 'timeoutMs', 'concurrency']);
  return {
    path: resolvePath('healthCheck.path', given.path, DEFAULTS.healthCheck.path),
    intervalMs: positiveInteger('healthCheck.intervalMs', given.intervalMs, DEFAULTS.healthCheck.intervalMs),
    timeoutMs: positiveInteger('healthCheck.timeoutMs', given.timeoutMs, DEFAULTS.healthCheck.timeoutMs),
    concurrency: positiveInteger('healthCheck.concurrency', given.concurrency, DEFAULTS.healthCheck.concurrency),
  };
}

function resolveRoutes(value: unknown): RoutesOptions {
  const given = section<RoutesOptions>('routes', value, ['stats', 'health', 'metrics', 'status', 'admin']);
  const route = (name: keyof RoutesOptions): boolean =>
    optional(`routes.${name}`, given[name], isBoolean, `must be true or false, got ${describe(given[name])}.`) ??
    DEFAULTS.routes[name];
  return {
    stats: route('stats'),
    health: route('health'),
    metrics: route('metrics'),
    status: route('status'),
    admin: route('admin'),
  };
}

function resolveMetrics(value: unknown): { route: MetricsOptions | false; prefix: string } {
  if (value === false) return { route: false, prefix: DEFAULTS.metrics.prefix };
  const given = section<MetricsOptions>('metrics', value, ['path', 'prefix']);
  const prefix = given.prefix ?? DEFAULTS.metrics.prefix;
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    fail('metrics.prefix', 'must match [a-zA-Z_:][a-zA-Z0-9_:]* (a Prometheus name prefix).');
  }
  return { route: { path: resolvePath('metrics.path', given.path, '/metrics'), prefix }, prefix };
}

function resolveRetry(value: unknown): ResolvedConfig['retry'] {
  const given = section<RetryOptions>('retry', value, ['attempts', 'on', 'timeouts']);
  const on = given.on ?? [...DEFAULTS.retry.on];
  if (!Array.isArray(on) || on.some((s) => !Number.isInteger(s) || s < 400 || s > 599)) {
    fail('retry.on', 'must be an array of HTTP status codes from 400 to 599.');
  }
  const timeouts = given.timeouts ?? DEFAULTS.retry.timeouts;
  if (timeouts !== 'idempotent' && timeouts !== 'always')
    fail('retry.timeouts', `must be 'idempotent' or 'always', got ${describe(timeouts)}.`);
  return {
    attempts: positiveInteger('retry.attempts', given.attempts, DEFAULTS.retry.attempts),
    on: new Set(on),
    timeouts,
  };
}

function resolveCors(value: unknown): CorsOptions | false {
  if (value === undefined || value === false) return false;
  const given = section<CorsOptions>('cors', value, ['origins', 'maxAgeSeconds']);
  const { origins } = given;
  if (origins !== '*' && !isOriginList(origins)) {
    fail(
      'cors.origins',
      "must be '*' or a non-empty array of origins such as 'https://app.example.com' (scheme and host, no path).",
    );
  }
  return {
    origins,
    maxAgeSeconds: positiveInteger('cors.maxAgeSeconds', given.maxAgeSeconds, DEFAULTS.cors.maxAgeSeconds, true),
  };
}

/** The store given (a MemoryStore when none is), checked: `publish` and whichever optional methods it has. */
function resolveStore(value: unknown): CompleteStore {
  if (value === undefined) return CompleteStore.of(new MemoryStore());
  const problem = storeProblem(value);
  if (problem) fail('store', problem);
  return CompleteStore.of(value as Store);
}

/** Checks every option once, at construction, and returns the complete configuration. */
export function resolveOptions(input: unknown): ResolvedConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    fail('options', "must be an object such as `modelscopeBalance({ keys: ['ms-…'] })`.", 'ERR_MSB_OPTIONS');
  }
  rejectUnknownOptions(input, TOP_LEVEL, '');
  const o = input as Record<string, unknown>;
  const keyFormat =
    optional(
      'keyFormat',
      o.keyFormat,
      isKeyFormat,
      `must be one of ${KEY_FORMATS.map((f) => `'${f}'`).join(', ')}, got ${describe(o.keyFormat)}.`,
    ) ?? DEFAULTS.keyFormat;
  const maxKeys = positiveInteger('maxKeys', o.maxKeys, DEFAULTS.maxKeys);
  if (maxKeys > MAX_MAX_KEYS) fail('maxKeys', `must be at most ${MAX_MAX_KEYS}, got ${maxKeys}.`);
  const keys = resolveKeys(o.keys, { format: keyFormat, maxKeys });
  const logger = optional(
    'logger',
    o.logger,
    isLoggerOption,
    'must be a logger with some of debug, info, warn and error as functions (pino works; a level left out is not ' +
      'written).',
  );
  const registry = optional('registry', o.registry, isRegistry, 'must be a prom-client Registry.');
  const strategy = optional(
    'strategy',
    o.strategy,
    isStrategy,
    `must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}, got ${describe(o.strategy)}.`,
  );
  const adminToken = optional('adminToken', o.adminToken, isNonBlankString, 'must be a non-empty string.');
  const forwardClientAddress = optional(
    'forwardClientAddress',
    o.forwardClientAddress,
    isBoolean,
    'must be true or false.',
  );
  const cooldown = section<CooldownOptions>('cooldown', o.cooldown, ['baseMs', 'maxMs']);
  const timeouts = section<TimeoutOptions>('timeouts', o.timeouts, ['connectMs', 'firstByteMs', 'idleMs', 'totalMs']);
  const affinity = section<TaskAffinityOptions>('taskAffinity', o.taskAffinity, ['maxEntries', 'ttlMs']);
  const metrics = resolveMetrics(o.metrics);
  const accessTokens =
    optional('accessTokens', o.accessTokens, isTokenList, 'must be an array of non-empty strings.') ?? [];
  const resolvedCooldown = {
    baseMs: positiveInteger('cooldown.baseMs', cooldown.baseMs, DEFAULTS.cooldown.baseMs),
    maxMs: positiveInteger('cooldown.maxMs', cooldown.maxMs, DEFAULTS.cooldown.maxMs),
  };
  if (resolvedCooldown.maxMs < resolvedCooldown.baseMs) fail('cooldown.maxMs', 'must be at least cooldown.baseMs.');
  return Object.freeze({
    keys,
    keyFormat,
    maxKeys,
    target: resolveTarget(o.target, keys),
    healthCheck: resolveHealthCheck(o.healthCheck),
    logger: completeLogger(logger),
    registry: registry ?? new Registry(),
    metrics: metrics.route,
    metricsPrefix: metrics.prefix,
    retry: resolveRetry(o.retry),
    cooldown: resolvedCooldown,
    failureThreshold: positiveInteger('failureThreshold', o.failureThreshold, DEFAULTS.failureThreshold),
    invalidKeyRetryMs: positiveInteger('invalidKeyRetryMs', o.invalidKeyRetryMs, DEFAULTS.invalidKeyRetryMs),
    timeouts: {
      connectMs: positiveInteger('timeouts.connectMs', timeouts.connectMs, DEFAULTS.timeouts.connectMs),
      firstByteMs: positiveInteger('timeouts.firstByteMs', timeouts.firstByteMs, DEFAULTS.timeouts.firstByteMs),
      idleMs: positiveInteger('timeouts.idleMs', timeouts.idleMs, DEFAULTS.timeouts.idleMs),
      totalMs: positiveInteger('timeouts.totalMs', timeouts.totalMs, DEFAULTS.timeouts.totalMs),
    },
    maxBodyBytes: positiveInteger('maxBodyBytes', o.maxBodyBytes, DEFAULTS.maxBodyBytes),
    maxBufferedBytes: positiveInteger('maxBufferedBytes', o.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    cors: resolveCors(o.cors),
    queueTimeoutMs: positiveInteger('queueTimeoutMs', o.queueTimeoutMs, DEFAULTS.queueTimeoutMs, true),
    strategy: strategy ?? DEFAULTS.strategy,
    quota: resolveQuota(o.quota, keys),
    taskAffinity: {
      maxEntries: positiveInteger('taskAffinity.maxEntries', affinity.maxEntries, DEFAULTS.taskAffinity.maxEntries),
      ttlMs: positiveInteger('taskAffinity.ttlMs', affinity.ttlMs, DEFAULTS.taskAffinity.ttlMs),
    },
    modelRoutes: resolveModelRoutes(o.modelRoutes, keys),
    accessTokens,
    adminToken,
    forwardClientAddress: forwardClientAddress ?? DEFAULTS.forwardClientAddress,
    store: resolveStore(o.store),
    replicaId:
      optional(
        'replicaId',
        o.replicaId,
        isReplicaId,
        "must be 1–128 visible ASCII characters (a header value), such as 'eu-1' or 'pod-7f9c:1'.",
      ) ?? `${hostname()}:${process.pid}`.replace(/[^\x21-\x7e]/g, '_').slice(0, 128),
    routes: resolveRoutes(o.routes),
    clients: resolveClients(o.clients, { keys: keys.map((k) => k.key), accessTokens, adminToken }),
    stateFile: optional('stateFile', o.stateFile, isNonBlankString, 'must be a file path such as ./state.json.'),
  });
}
