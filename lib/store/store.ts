// Where key state is shared. The default keeps it in this process; a store
// such as RedisStore (`modelscope-balance/redis`) shares it between replicas.
// Nothing on a request's path waits for a store: selection reads local memory,
// changes are handed over and sent in the background.
import { createHmac } from 'node:crypto';
import type { StoreRejectReason } from '../observe/metrics.js';
import type { SharedUpdate } from './shared-update.js';

export type { SharedQuotaUpdate, SharedUpdate } from './shared-update.js';

/** What the balancer gives a store when it starts. */
export interface StoreHandlers {
  /**
   * Applies a change published by another replica (or loaded at start), once it has passed the check of
   * `readUpdate()`: anything else is dropped and counted. The store hands over what it read, unchecked.
   */
  apply(update: unknown): void;
  /** Counts a value the store could not even hand over (not JSON, too large). */
  rejected(reason: StoreRejectReason): void;
  /** This replica's current view, published again after a reconnect. */
  snapshot(): SharedUpdate[];
  /** The ids (fingerprints) of this replica's keys and accounts, so the store can prune what no replica holds. */
  members(): string[];
}

/** The pluggable store (the way express-rate-limit has `Store`). */
export interface Store {
  start(handlers: StoreHandlers): void;
  /** Hands a change over; the store coalesces and sends it when it can. Never throws, never waits. */
  publish(update: SharedUpdate): void;
  /** Remembers which key (by fingerprint) submitted an async task. */
  rememberTask(taskId: string, fingerprint: string, ttlMs: number): void;
  /** The submitting key of a task another replica saw; undefined when unknown or the store is down. */
  lookupTask(taskId: string): Promise<string | undefined>;
  /** Counts requests sent with a key, for the fleet's figures in /stats. */
  count(fingerprint: string): void;
  /** The fleet's request counts by fingerprint, as last read (empty when not shared). */
  fleetCounts(): ReadonlyMap<string, number>;
  /** Reads the fleet's counts now (at most once a second; bounded wait): called when someone asks for them. */
  readFleetCounts?(): Promise<void>;
  /**
   * Claims the one trial request of a refused key for the whole fleet, for `ttlMs`: false when another replica
   * holds it. A store that cannot tell (down, slow) says true: the trial is then this replica's alone.
   */
  claimTrial?(fingerprint: string, ttlMs: number): Promise<boolean>;
  /**
   * 'ok', 'degraded' (shared but unreachable: serving on local state), or 'local' (shares nothing: a store that
   * says 'local' when the balancer starts is never handed changes or counts).
   */
  status(): 'ok' | 'degraded' | 'local';
  close(): Promise<void>;
}

/** The default: state stays in this process, as with no store at all. */
export class MemoryStore implements Store {
  start(): void {}
  publish(): void {}
  rememberTask(): void {}
  lookupTask(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }
  count(): void {}
  fleetCounts(): ReadonlyMap<string, number> {
    return new Map();
  }
  status(): 'local' {
    return 'local';
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A stable, one-way name for a token (or an account name) that every replica
 * computes alike: an HMAC, so the store never holds a token or a piece of one.
 */
export function fingerprint(secret: string, kind: 'key' | 'account' = 'key'): string {
  return createHmac('sha256', 'modelscope-balance/v1').update(`${kind}:${secret}`).digest('hex').slice(0, 32);
}

export function isStore(value: unknown): value is Store {
  const store = value as Partial<Store> | null;
  return (
    typeof store === 'object' &&
    store !== null &&
    ['start', 'publish', 'rememberTask', 'lookupTask', 'count', 'fleetCounts', 'status', 'close'].every(
      (name) => typeof (store as Record<string, unknown>)[name] === 'function',
    )
  );
}
