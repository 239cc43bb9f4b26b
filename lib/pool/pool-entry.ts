import type { AccountQuota } from './account-quota.js';
import type { KeyState, KeyStatus } from './key-state.js';
import type { KeyTallies } from './key-tallies.js';

/**
 * One key in the pool: its secret, the names it is shown by, and its state.
 * An entry stays the same object while the key stays in the pool with the
 * same settings, whatever else joins or leaves.
 */
export interface PoolEntry {
  /** The secret token: only ever placed in the upstream Authorization header. */
  readonly key: string;
  readonly label: string;
  readonly weight: number;
  readonly accountName: string;
  /** True when the key's account is its own (no account was named). */
  readonly ownAccount: boolean;
  readonly account: AccountQuota;
  readonly state: KeyState;
  /** Request counts and latencies, for the metrics. */
  readonly tallies: KeyTallies;
}

/** The state shown to people: `disabled` is an operator's hold, `exhausted` the account's, the rest the key's own. */
export type ShownStatus = KeyStatus | 'exhausted' | 'disabled';

export function shownStatus(entry: PoolEntry, now: number): ShownStatus {
  if (entry.state.disabled) return 'disabled';
  if (entry.account.exhaustedUntil(now) > 0) return 'exhausted';
  if (entry.state.status === 'cooling' && now >= entry.state.until) return 'healthy';
  return entry.state.status;
}
