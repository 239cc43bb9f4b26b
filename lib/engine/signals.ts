// What the engine's own parts tell each other: replication (store/replication.ts), the metrics and the log listen
// here for what carries the pool's objects or concerns only them. Never public: a payload here may hold a key.
import type { NoKeyReason } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { ProbeResult } from '../upstream/health-checker.js';

export interface EngineSignals {
  /** A key's state or deadline changed here (to share with other replicas). */
  keyChanged: PoolEntry;
  /** An account's quota figures changed here. */
  quotaChanged: PoolEntry;
  /** An operator disabled or enabled a key here. */
  disabledChanged: PoolEntry;
  /** An attempt went out with a key (the fleet's request counts). */
  sent: PoolEntry;
  /** An async task was submitted with a key: its polls must go with the same key. */
  taskSubmitted: { taskId: string; entry: PoolEntry; ttlMs: number };
  /** A key left the pool and no request is under way on it any more: its secret may be forgotten. */
  retired: PoolEntry;
  /** A key left the pool: its metric series go (by label). */
  removed: string;
  /** A request moved on to another key, and why (a status code, or how the attempt failed). */
  failover: string;
  /** A request was answered without an upstream call: no key could take it. */
  noKey: NoKeyReason['kind'];
  /** A health probe's result. */
  probed: { label: string; result: ProbeResult };
  /** Most keys were rate limited within seconds: the upstream throttles this machine. */
  throttled: { limited: number; poolSize: number };
}
