import type { STRATEGIES } from './defaults.js';
import type { KeyFormat } from './key-format.js';
import type { Registry } from 'prom-client';
import type { LoggerOption } from '../observe/logger.js';
import type { Store } from '../store/store.js';
import type { ClientSpec } from '../clients/client-spec.js';
import type { ModelRoutes } from '../model-routes/model-routes.js';

/** A pool key given with extra settings instead of as a bare string. */
export interface KeySpec {
  /** The ModelScope access token. */
  key: string;
  /** Shown instead of the masked key in /stats, logs and metrics. Defaults to a masked form of the key. */
  label?: string;
  /** Share of traffic under the `weighted` strategy. Defaults to 1. */
  weight?: number;
  /** Keys with the same account share one daily quota. Defaults to a separate account per key. */
  account?: string;
}

export type Strategy = (typeof STRATEGIES)[number];

export type { KeyFormat };

export interface HealthCheckOptions {
  /** Path probed with each key (GET). Defaults to `/v1/models`. */
  path: string;
  /** Time between rounds of probes. Defaults to 30 000 ms. */
  intervalMs: number;
  /** A probe slower than this counts as failed. Defaults to 10 000 ms. */
  timeoutMs: number;
  /** Probes under way at once, so a large pool is probed at a steady pace. Defaults to 4. */
  concurrency: number;
}

export interface MetricsOptions {
  /** Route that serves the registry, relative to the mount point. Defaults to `/metrics`. */
  path: string;
  /** Prefix of every metric name. Defaults to `modelscope_balance_`. */
  prefix: string;
}

export interface RetryOptions {
  /** Tries per request in all, never more than the number of keys. Defaults to 3. */
  attempts: number;
  /**
   * Upstream statuses that move the request to another key (401 and 403 always do). Defaults to `[429, 500, 502, 503,
   * 504]`.
   */
  on: number[];
  /**
   * Whether a first-byte timeout or a reset after a POST was fully sent moves it to another key. With
   * `'idempotent'`, only GET and HEAD are resent (the upstream may be generating already, and a resend
   * spends quota twice); `'always'` resends every method. Defaults to `'idempotent'`.
   */
  timeouts: 'idempotent' | 'always';
}

export interface CooldownOptions {
  /** Cooldown after a 429 without Retry-After; doubles on repeats. Defaults to 5 000 ms. */
  baseMs: number;
  /** Longest cooldown. Defaults to 300 000 ms. */
  maxMs: number;
}

export interface TimeoutOptions {
  /** Time allowed to open a connection to the upstream. Defaults to 10 000 ms. */
  connectMs: number;
  /** Time allowed until the upstream's response headers. Defaults to 120 000 ms. */
  firstByteMs: number;
  /**
   * Longest gap between two chunks of a response body while we wait for the upstream; also how long a
   * client may leave a chunk unread before it is cut off. Defaults to 120 000 ms.
   */
  idleMs: number;
  /**
   * Longest time from a request's arrival until its answer begins, over all attempts; then 504. Defaults to 180 000
   * ms.
   */
  totalMs: number;
}

/** Cross-origin access for browser clients. */
export interface CorsOptions {
  /** Origins allowed to call the balancer, or `'*'` for any. Required. */
  origins: string[] | '*';
  /** How long a browser may cache a preflight answer, in seconds. Defaults to 600. */
  maxAgeSeconds: number;
}

export interface QuotaOptions {
  /** IANA time zone whose midnight resets the daily allowance. Defaults to `Asia/Shanghai`. */
  resetTimeZone: string;
  /** Local time of the reset in that zone, `HH:MM`. Defaults to `00:00`. */
  resetTime: string;
  /**
   * When ModelScope sends no quota counters: after this many 429s in a row on an account (no success between, each
   * after the cooldown of the one before, not while the whole pool is being throttled), it counts as used up until
   * the reset, with one trial call every `exhaustedTrialMs`. Defaults to 3.
   */
  assumeExhaustedAfter: number;
  /**
   * An account used up without counters (inferred, said by an answer such as a 403 `QuotaLimitExceed`, or a zero
   * balance) gets one trial call per this period; a success puts it back at once. Defaults to 1 800 000 ms (30 min).
   */
  exhaustedTrialMs: number;
  /**
   * A balance endpoint polled with each account's key off the request path, such as
   * `https://modelscope.cn/openapi/v1/magicubes/balance`; a key whose available balance is zero counts as used up.
   * The only host besides `target` the balancer contacts, and only when set. Defaults to none (off).
   */
  balanceUrl?: string;
  /** Time between rounds of balance probes (spread over the round, two at a time). Defaults to 600 000 ms (10 min). */
  balanceIntervalMs: number;
}

export interface TaskAffinityOptions {
  /** Async task ids remembered at most. Defaults to 10 000. */
  maxEntries: number;
  /** How long a task id is remembered. Defaults to 86 400 000 ms (a day). */
  ttlMs: number;
}

/** The balancer's own routes, each served (`true`) or not. */
export interface RoutesOptions {
  /** `GET /stats`. Defaults to `true`. */
  stats: boolean;
  /** `GET /health`. Defaults to `true`. */
  health: boolean;
  /** The metrics route (`metrics.path`); `metrics: false` also switches it off. Defaults to `true`. */
  metrics: boolean;
  /** `GET /status`, the status page, and its data. Defaults to `true`. */
  status: boolean;
  /** The admin API under `/admin` (it needs `adminToken` to answer anything but 403). Defaults to `true`. */
  admin: boolean;
}

/** Everything `modelscopeBalance()` accepts: only `keys` is required, the rest fall back to `DEFAULTS`. */
export interface Options {
  /** ModelScope tokens, as strings or `KeySpec` objects: non-empty and unique. Required. */
  keys: Array<string | KeySpec>;
  /**
   * What a key must look like. `'modelscope'`: a ModelScope access token, `ms-` followed by a UUID (or a bare UUID).
   * `'any'`, for other targets: 16 to 256 characters of `A-Z a-z 0-9 . _ -`. Anything else is refused (`ERR_MSB_KEYS`).
   * Defaults to `'modelscope'`.
   */
  keyFormat?: KeyFormat;
  /** Most keys the pool may hold, at construction and after any change. Defaults to 100 000. */
  maxKeys?: number;
  /** Upstream base URL (http or https). Defaults to `https://api-inference.modelscope.cn`. */
  target?: string;
  /**
   * Active health probes, or `false` for none. Defaults to `{ path: '/v1/models', intervalMs: 30000, timeoutMs: 10000,
   * concurrency: 4 }`.
   */
  healthCheck?: false | Partial<HealthCheckOptions>;
  /**
   * Where the balancer logs: a pino-style logger; each of debug, info, warn and error is optional (a level it lacks
   * is not written). Defaults to a silent logger.
   */
  logger?: LoggerOption;
  /**
   * prom-client Registry for the metrics. Defaults to a fresh Registry owned by this balancer, never the global one.
   */
  registry?: Registry;
  /**
   * The metrics route, or `false` to serve none (metrics still go to `registry`). Defaults to `{ path: '/metrics',
   * prefix: 'modelscope_balance_' }`.
   */
  metrics?: false | Partial<MetricsOptions>;
  /** Failover to other keys. Defaults to `{ attempts: 3, on: [429, 500, 502, 503, 504], timeouts: 'idempotent' }`. */
  retry?: Partial<RetryOptions>;
  /** Cooldown after a 429. Defaults to `{ baseMs: 5000, maxMs: 300000 }`. */
  cooldown?: Partial<CooldownOptions>;
  /** Consecutive 5xx, timeouts or connection failures before a key is unhealthy. Defaults to 3. */
  failureThreshold?: number;
  /** A key refused with 401/403 gets one trial request after this long. Defaults to 1 800 000 ms. */
  invalidKeyRetryMs?: number;
  /** Upstream timeouts. Defaults to `{ connectMs: 10000, firstByteMs: 120000, idleMs: 120000, totalMs: 180000 }`. */
  timeouts?: Partial<TimeoutOptions>;
  /** Largest request body accepted; larger ones get 413. Defaults to 10 MiB. */
  maxBodyBytes?: number;
  /**
   * Request bodies are held (for failover) until their request ends; past this many bytes held at once,
   * new requests get 503 with Retry-After. Defaults to 256 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * Browser access (CORS): preflights answered here, never forwarded and needing no token. Defaults to `false` (off).
   */
  cors?: false | (Partial<CorsOptions> & Pick<CorsOptions, 'origins'>);
  /** When every key is cooling down, wait this long for the first to return before answering 429. Defaults to 0. */
  queueTimeoutMs?: number;
  /** How the next key is chosen. Defaults to `round-robin`. */
  strategy?: Strategy;
  /**
   * When the daily allowance resets, and how a used-up allowance is told without counters. Defaults to
   * `{ resetTimeZone: 'Asia/Shanghai', resetTime: '00:00', assumeExhaustedAfter: 3, exhaustedTrialMs: 1800000,
   * balanceIntervalMs: 600000 }`, no `balanceUrl`.
   */
  quota?: Partial<QuotaOptions>;
  /** Memory of which key submitted an async task. Defaults to `{ maxEntries: 10000, ttlMs: 86400000 }`. */
  taskAffinity?: Partial<TaskAffinityOptions>;
  /**
   * Model routes: a model name a client asks for (an alias such as `coder`, or a real model id) to the ModelScope
   * model ids that serve it, first choice first, such as `{ coder: ['Qwen/Qwen3-Coder-480B-A35B-Instruct',
   * 'Qwen/Qwen3-Coder-30B-A3B-Instruct'] }`. A request for the name goes to the first model some key still has
   * allowance for today, and moves on to the next within the same request when that model runs out. Defaults to none.
   */
  modelRoutes?: ModelRoutes;
  /** Client tokens; when set, every proxied request must present one (Bearer or x-api-key). Defaults to none (open). */
  accessTokens?: string[];
  /**
   * When set, /stats and /metrics need `Authorization: Bearer <adminToken>`, /status needs it as HTTP Basic's
   * password, and the admin API answers (without it, /admin answers 403). Defaults to none (open, no admin API).
   */
  adminToken?: string;
  /** Add the client's address as X-Forwarded-For. Defaults to `false`. */
  forwardClientAddress?: boolean;
  /**
   * Where key state is shared: the default keeps it in this process; `new RedisStore({ url })` (or `{ client }`, an
   * ioredis or node-redis client) from `modelscope-balance/redis` shares it between replicas, and so does any object
   * with a `publish(update)` method (see docs/creating-a-store.md). The balancer starts it (`init`) and `close()`
   * stops it (`shutdown`). Defaults to a `MemoryStore`.
   */
  store?: Store;
  /**
   * This replica's name, sent as `x-modelscope-balance-replica` on the balancer's own answers (/health, /stats,
   * /metrics, /status, /admin) and in the admin API's answers, so an operator behind a load balancer sees which
   * replica answered. 1–128 visible ASCII characters; never put a secret in it. Defaults to `<hostname>:<pid>`.
   */
  replicaId?: string;
  /**
   * Which of the balancer's own routes it serves, each `true` or `false`. A route switched off answers 404 (the path
   * is still the balancer's: never forwarded upstream). Defaults to `{ stats: true, health: true, metrics: true,
   * status: true, admin: true }`; the admin API still answers 403 until `adminToken` is set.
   */
  routes?: Partial<RoutesOptions>;
  /**
   * Named clients, each with its own token and optional limits (`dailyRequests`, `requestsPerMinute`, `maxInFlight`,
   * `models`), and usage counted per client and model. When given (`[]` too), every proxied request must present a
   * client's token or one of `accessTokens`. Defaults to none (no named clients).
   */
  clients?: ClientSpec[];
  /**
   * A file that keeps today's usage and daily counts of the clients across a restart, written atomically every 5 s
   * and at `close()`. Defaults to none (off).
   */
  stateFile?: string;
}

/** The name earlier versions used for `Options`. */
export type BalanceOptions = Options;
