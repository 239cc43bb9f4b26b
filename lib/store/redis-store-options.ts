// The Redis store's options and their check, done in its constructor: a wrong
// one throws a BalanceConfigError naming `RedisStore.<option>` and the fix.
import { completeLogger, isLoggerOption, type Logger, type LoggerOption } from '../observe/logger.js';
import { describe, fail, isNonEmptyString, positiveInteger, section } from '../options/option-checks.js';
import { type RedisClient, redisClientKind } from './redis-link.js';

export interface RedisStoreOptions {
  /**
   * `redis://` or `rediss://` URL, connected through ioredis (install it; a password in the URL is never logged).
   * Defaults to `redis://127.0.0.1:6379` when no `client` is given.
   */
  url: string;
  /**
   * A client to use instead of `url`: an ioredis client (`new Redis(…)`) or a node-redis client (`createClient(…)`
   * of the `redis` package, v4 to v6; the store connects it if it is not yet). The store duplicates it for its
   * subscription and never closes it: that stays yours. Defaults to none.
   */
  client: RedisClient;
  /** Prefix of every Redis key and channel. Defaults to `msb:`. */
  prefix: string;
  /**
   * Where the one warning per outage (and the reconnection) is logged: pino, console, or any object with some of
   * debug, info, warn and error (a level left out is not written). Defaults to a silent logger.
   */
  logger: LoggerOption;
  /** How often coalesced changes are written. Defaults to 250 ms. */
  flushMs: number;
  /**
   * How long request counts are batched before they are written (nothing is written while there are none), and
   * how long a read of the fleet's counts stays fresh. Defaults to 1000 ms.
   */
  countMs: number;
  /**
   * Time between a replica's heartbeats (one script); one missing three is gone, and the state of keys no live
   * replica holds is pruned every ten. Defaults to 30 000 ms.
   */
  heartbeatMs: number;
}

export const REDIS_STORE_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'msb:',
  flushMs: 250,
  countMs: 1000,
  heartbeatMs: 30_000,
} as const;

const KNOWN: Array<keyof RedisStoreOptions> = [
  'url',
  'client',
  'prefix',
  'logger',
  'flushMs',
  'countMs',
  'heartbeatMs',
];

/** Whether `value` parses as a redis: or rediss: URL (the URL itself is never echoed: it may hold a password). */
function isRedisUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    return ['redis:', 'rediss:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The options, checked, with their defaults (a client only when one was given). */
export type CheckedRedisStoreOptions = Omit<RedisStoreOptions, 'client' | 'logger'> & {
  client?: RedisClient;
  logger: Logger;
};

export function checkRedisStoreOptions(input: unknown): CheckedRedisStoreOptions {
  const given = section<RedisStoreOptions>('RedisStore', input, KNOWN);
  if (given.url !== undefined && given.client !== undefined)
    fail('RedisStore.url', 'and `client` were both given: pass one (the client is used as it is, with its own URL).');
  if (given.url !== undefined && !isRedisUrl(given.url))
    fail(
      'RedisStore.url',
      `must be a redis:// or rediss:// URL such as 'redis://127.0.0.1:6379', got ${shape(given.url)}.`,
    );
  if (given.client !== undefined && !redisClientKind(given.client))
    fail(
      'RedisStore.client',
      'must be an ioredis client (`new Redis(…)`) or a node-redis client (`createClient(…)` of the `redis` package), ' +
        `got ${describe(given.client)}.`,
    );
  if (given.prefix !== undefined && !(isNonEmptyString(given.prefix) && given.prefix.length <= 100))
    fail('RedisStore.prefix', `must be a string of 1 to 100 characters such as 'msb:', got ${describe(given.prefix)}.`);
  if (given.logger !== undefined && !isLoggerOption(given.logger))
    fail(
      'RedisStore.logger',
      'must be a logger with some of debug, info, warn and error as functions (pino works; a level left out is not ' +
        'written).',
    );
  return {
    url: given.url ?? REDIS_STORE_DEFAULTS.url,
    client: given.client,
    prefix: given.prefix ?? REDIS_STORE_DEFAULTS.prefix,
    logger: completeLogger(given.logger),
    flushMs: positiveInteger('RedisStore.flushMs', given.flushMs, REDIS_STORE_DEFAULTS.flushMs),
    countMs: positiveInteger('RedisStore.countMs', given.countMs, REDIS_STORE_DEFAULTS.countMs),
    heartbeatMs: positiveInteger('RedisStore.heartbeatMs', given.heartbeatMs, REDIS_STORE_DEFAULTS.heartbeatMs),
  };
}

/** What a wrong URL looks like, without its text. */
function shape(value: unknown): string {
  return typeof value === 'string' ? 'a string that is not one' : describe(value);
}
