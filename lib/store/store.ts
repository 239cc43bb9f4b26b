// Where key state is shared. The default keeps it in this process; a store
// such as RedisStore (`modelscope-balance/redis`) shares it between replicas.
// Nothing on a request's path waits for a store: selection reads local memory,
// changes are handed over and sent in the background.
import { createHmac } from 'node:crypto';
import type { LastError, KeyStatus } from '../pool/key-state.js';
import type { BalanceFigures, Exhaustion, QuotaFigures, Strikes } from '../pool/account-quota.js';

/**
 * A change another replica should apply: one key's state, or one account's
 * quota figures. `at` is when it changed (epoch ms): a replica applies only
 * what is newer than what it has, so a view published after a reconnect never
 * undoes a newer change.
 */
export type SharedUpdate =
  | { kind: 'key'; id: string; at: number; status: KeyStatus; until: number; lastError: LastError | null }
  | SharedQuotaUpdate;

/** One account's allowance as known: the counters, and what is known without them (absent from older replicas). */
export interface SharedQuotaUpdate {
  kind: 'quota';
  id: string;
  at: number;
  overall: QuotaFigures | null;
  models: Array<[string, QuotaFigures]>;
  /** Used up without counters (said by an answer, inferred, or a zero balance), with its next trial; or null. */
  exhaustion?: Exhaustion | null;
  /** 429s without counters in a row toward inference, when the next may count, and when the count starts over. */
  strikes?: Strikes | null;
  /** What the balance endpoint last said, or null. */
  balance?: BalanceFigures | null;
}

/** What the balancer gives a store when it starts. */
export interface StoreHandlers {
  /** Applies a change published by another replica (or loaded at start). */
  apply(update: SharedUpdate): void;
  /** This replica's current view, published again after a reconnect. */
  snapshot(): SharedUpdate[];
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
