// Where key state is shared. The default keeps it in this process; a store
// such as RedisStore (`modelscope-balance/redis`) shares it between replicas.
// Nothing on a request's path waits for a store: selection reads local memory,
// changes are handed over and sent in the background, and the few answers a
// request may wait for (a task's key, a trial claim, a counter) are bounded.
//
// One method is required (`publish`: what a store is for); every other one is
// optional, with the default written beside it. docs/creating-a-store.md walks
// through writing one.
import { createHmac } from 'node:crypto';
import type { StoreRejectReason } from '../observe/metrics.js';
import type { SharedUpdate } from './shared-update.js';

export type { SharedHoldUpdate, SharedKeyUpdate, SharedQuotaUpdate, SharedUpdate } from './shared-update.js';

/**
 * How a store is doing: 'ok' (shared and reachable), 'degraded' (shared but unreachable: this replica serves on its
 * own state meanwhile), or 'local' (shares nothing, like the MemoryStore).
 */
export type StoreStatus = 'ok' | 'degraded' | 'local';

/** What the balancer gives a store when it starts (`init`). */
export interface StoreHandlers {
  /**
   * Applies a change published by another replica (or loaded at start), once it has passed the check of
   * `readUpdate()`: anything else is dropped and counted. Hand over what you read, parsed but unchecked.
   */
  apply(update: unknown): void;
  /** Counts a value the store could not even hand over (not JSON, too large). */
  rejected(reason: StoreRejectReason): void;
  /** This replica's current view: publish it again after a reconnect (changes made meanwhile were not sent). */
  snapshot(): SharedUpdate[];
  /** The ids (fingerprints) of this replica's keys and accounts, so a store can prune what no replica holds. */
  members(): string[];
}

/**
 * The pluggable store (the way express-rate-limit has `Store`). Only `publish` is required; each optional method
 * says what the balancer does without it. A store holds fingerprints (`id`), never a token or a piece of one.
 */
export interface Store {
  /**
   * Starts the store: connect, subscribe, load what other replicas wrote and hand each value to `handlers.apply`.
   * Called once, when the balancer is built; not awaited by it (requests are served from the start, on local state,
   * and the other methods may be called before it settles). Do no I/O in the constructor: do it here. A rejection
   * is logged as one warning and the store then counts as degraded. Without it: nothing to start, and nothing is
   * received from other replicas.
   */
  init?(handlers: StoreHandlers): void | Promise<void>;
  /**
   * Hands a change over (required): one key's state, one account's quota figures or an operator's hold, with the time
   * it happened. Called on a request's path: never wait, never throw; keep the newest per `kind` and `id` and send
   * them in the background. Not called at all when `status()` says 'local' as the balancer is built.
   */
  publish(update: SharedUpdate): void;
  /**
   * How the store is doing (read on every /health, /metrics scrape and at start). A store that says 'local' when the
   * balancer is built is never handed changes, counts or trial claims (at no cost per request). Without it: 'ok',
   * a shared store that cannot tell when it is down ('degraded' after a failed `init`).
   */
  status?(): StoreStatus;
  /**
   * Counts one request sent with a key (per request, on its path: only add to a number; write in batches). Without
   * it: no fleet figures in /stats.
   */
  count?(fingerprint: string): void;
  /** The fleet's request counts by fingerprint, as last read, this replica's included. Without it: none. */
  fleetCounts?(): ReadonlyMap<string, number>;
  /** Reads the fleet's counts now, for someone who shows them (/stats, /admin/keys). Waited for 250 ms at most. */
  readFleetCounts?(): Promise<void>;
  /** Remembers which key (by fingerprint) submitted an async task, for `ttlMs`. Without it: nothing is remembered. */
  rememberTask?(taskId: string, fingerprint: string, ttlMs: number): void;
  /**
   * The submitting key of a task another replica saw, or undefined. Waited for 250 ms at most, never while the store
   * is degraded. Without it: never found (a poll through another replica goes to any key).
   */
  lookupTask?(taskId: string): Promise<string | undefined>;
  /**
   * Claims the one trial request of a refused key for the whole fleet, for `ttlMs`: false when another replica holds
   * it. Waited for 250 ms at most; no answer (or a rejection) counts as true, as does its absence: the trial is then
   * this replica's alone.
   */
  claimTrial?(fingerprint: string, ttlMs: number): Promise<boolean>;
  /**
   * An atomic counter of the fleet: adds `by` (a whole number, 0 to read, negative to give back) to the counter
   * `name` and answers its new total. The counter ends at `expiresAt` (epoch ms; a caller passes the same one for a
   * counter's life, and a store may set it only when the counter starts): from then on it starts again from 0.
   * Names are chosen by the balancer (a client's name and a day, say), never a secret. Waited for 250 ms at most,
   * never while the store is degraded: without an answer the caller counts on this replica alone, as it does without
   * this method.
   */
  increment?(name: string, by: number, expiresAt: number): Promise<number>;
  /** Stops timers and closes connections (`balancer.close()` calls it, once). Without it: nothing to release. */
  shutdown?(): void | Promise<void>;
}

/** The method every store has. */
const REQUIRED = ['publish'] as const;
/** The methods a store may have: each is a function when present. */
const OPTIONAL = [
  'init',
  'status',
  'count',
  'fleetCounts',
  'readFleetCounts',
  'rememberTask',
  'lookupTask',
  'claimTrial',
  'increment',
  'shutdown',
] as const satisfies ReadonlyArray<Exclude<keyof Store, (typeof REQUIRED)[number]>>;

/** Fails to compile when a method of `Store` is in neither list (it would go unchecked). */
type Unlisted = Exclude<keyof Store, (typeof REQUIRED)[number] | (typeof OPTIONAL)[number]>;
const everyMethodListed: Unlisted extends never ? true : Unlisted = true;
void everyMethodListed;

/** What is wrong with `value` as a store, as the end of a sentence, or undefined when it is one. */
export function storeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `must be a Store object, such as \`new RedisStore({ url })\` from 'modelscope-balance/redis', or left out.`;
  const store = value as Record<string, unknown>;
  if (typeof store.start === 'function' && store.init === undefined)
    return 'has `start()` but no `init()`: a Store is started by `init(handlers)` and stopped by `shutdown()` now.';
  for (const name of REQUIRED) {
    if (typeof store[name] !== 'function')
      return `has no \`${name}(update)\` method: a Store needs it (see docs/creating-a-store.md).`;
  }
  for (const name of OPTIONAL) {
    if (store[name] !== undefined && typeof store[name] !== 'function')
      return `has a \`${name}\` that is not a method: leave it out or make it a function.`;
  }
  return undefined;
}

/** Whether `value` can serve as a store: `publish` is a method, and every other Store method present is one too. */
export function isStore(value: unknown): value is Store {
  return storeProblem(value) === undefined;
}

/**
 * A stable, one-way name for a token (or an account name) that every replica
 * computes alike: an HMAC, so the store never holds a token or a piece of one.
 */
export function fingerprint(secret: string, kind: 'key' | 'account' = 'key'): string {
  return createHmac('sha256', 'modelscope-balance/v1').update(`${kind}:${secret}`).digest('hex').slice(0, 32);
}

export { MemoryStore } from './memory-store.js';
