// What replicas tell each other through a store, and the check every value
// read back passes before it is applied. Redis is shared with whoever can
// reach it (another version in a rolling upgrade, a script, an attacker with
// network access): a value is applied only when it has exactly the shape this
// version writes, else it is dropped and counted (`store_rejected_total`),
// never applied and so never written back.
import type { BalanceFigures, Exhaustion, QuotaFigures, Strikes } from '../pool/account-quota.js';
import type { KeyStatus, LastError } from '../pool/key-state.js';
import type { StoreRejectReason } from '../observe/metrics.js';

/** The version of the shape below; a value of any other version is dropped (a newer replica's change waits for it). */
export const UPDATE_VERSION = 1;

/**
 * A change another replica should apply: one key's state, one account's quota figures, or an operator's hold on a
 * key. `at` is when it changed (epoch ms): a replica applies only what is newer than what it has, so a view
 * published after a reconnect never undoes a newer change.
 */
export type SharedUpdate = SharedKeyUpdate | SharedQuotaUpdate | SharedHoldUpdate;

export type { BalanceFigures, Exhaustion, KeyStatus, LastError, QuotaFigures, Strikes };

/** One key's state: its status, until when (a cooldown's end, a trial's time), and the last error seen. */
export interface SharedKeyUpdate {
  v: 1;
  kind: 'key';
  /** The key's fingerprint. */
  id: string;
  at: number;
  status: KeyStatus;
  /** cooling: when it ends; unhealthy or invalid: when a trial request is allowed (healthy: not read). */
  until: number;
  lastError: LastError | null;
}

/** An operator's hold on a key (`disableKey`), or its release: fleet-wide. */
export interface SharedHoldUpdate {
  v: 1;
  kind: 'hold';
  /** The key's fingerprint. */
  id: string;
  at: number;
  held: boolean;
}

/** One account's allowance as known: the counters, and what is known without them. */
export interface SharedQuotaUpdate {
  v: 1;
  kind: 'quota';
  /** The account's fingerprint (a key's own account: the key's). */
  id: string;
  at: number;
  overall: QuotaFigures | null;
  models: Array<[string, QuotaFigures]>;
  /** Used up without counters (said by an answer, inferred, or a zero balance), with its next trial; or null. */
  exhaustion: Exhaustion | null;
  /** 429s without counters in a row toward inference, when the next may count, and when the count starts over. */
  strikes: Strikes | null;
  /** What the balance endpoint last said, or null. */
  balance: BalanceFigures | null;
}

export type UpdateKind = SharedUpdate['kind'];

/** How far ahead of this replica's clock a time may be: clock skew for change times, the rule's reach for deadlines. */
const SKEW_MS = 5 * 60_000;
const HOUR = 3_600_000;
/** Cooldowns, trial times: the longest sane deadline (a few days). */
const DEADLINE_AHEAD_MS = 72 * HOUR;
/** Quota figures go stale at the next daily reset: never more than two days ahead. */
const RESET_AHEAD_MS = 48 * HOUR;
const MAX_TEXT = 200;
/** As many per-model figures as an account keeps (AccountQuota's bound). */
const MAX_MODELS = 256;
const KEY_STATUSES: readonly KeyStatus[] = ['healthy', 'cooling', 'unhealthy', 'invalid'];

/** A field's check: undefined when the value is fine, else why not. */
type Check = (value: unknown, now: number) => StoreRejectReason | undefined;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An epoch-ms time, finite, not before 1970 and at most `aheadMs` after now. */
const time =
  (aheadMs: number): Check =>
  (value, now) =>
    typeof value !== 'number'
      ? 'shape'
      : Number.isFinite(value) && value >= 0 && value <= now + aheadMs
        ? undefined
        : 'time';
const count: Check = (value) =>
  value === null || (typeof value === 'number' && Number.isFinite(value) && value >= 0) ? undefined : 'shape';
/** A figure that must be there: finite and not negative. */
const amount: Check = (value) => (value === null ? 'shape' : count(value, 0));
const text: Check = (value) =>
  typeof value !== 'string' ? 'shape' : value.length > 0 && value.length <= MAX_TEXT ? undefined : 'size';
const oneOf =
  (allowed: readonly unknown[]): Check =>
  (value) =>
    allowed.includes(value) ? undefined : 'shape';
const nullable =
  (check: Check): Check =>
  (value, now) =>
    value === null ? undefined : check(value, now);

/** An object with exactly these fields, each passing its check. */
function exactly(fields: Record<string, Check>): Check {
  const names = Object.keys(fields);
  return (value, now) => {
    if (!isRecord(value)) return 'shape';
    const given = Object.keys(value);
    if (given.length !== names.length || !given.every((name) => name in fields)) return 'shape';
    for (const name of names) {
      const problem = fields[name](value[name], now);
      if (problem) return problem;
    }
    return undefined;
  };
}

const figures = exactly({ limit: count, remaining: count, seenAt: time(SKEW_MS), staleAt: time(RESET_AHEAD_MS) });
const lastError = exactly({
  status: (value) =>
    value === 'error' ||
    value === 'timeout' ||
    (Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599)
      ? undefined
      : 'shape',
  reason: text,
  at: time(SKEW_MS),
});
const EXHAUSTION_SOURCES: ReadonlyArray<Exhaustion['source']> = ['answer', 'inferred', 'balance'];
const exhaustion = exactly({
  source: oneOf(EXHAUSTION_SOURCES),
  since: time(SKEW_MS),
  until: time(RESET_AHEAD_MS),
  nextTrialAt: time(RESET_AHEAD_MS),
});
const strikes = exactly({ count: amount, nextAt: time(DEADLINE_AHEAD_MS), until: time(RESET_AHEAD_MS) });
const balance = exactly({
  available: amount,
  total: count,
  frozen: count,
  seenAt: time(SKEW_MS),
  ignoredUntil: time(RESET_AHEAD_MS),
});
const models: Check = (value, now) => {
  if (!Array.isArray(value)) return 'shape';
  if (value.length > MAX_MODELS) return 'size';
  for (const pair of value) {
    if (!Array.isArray(pair) || pair.length !== 2) return 'shape';
    const problem = text(pair[0], now) ?? figures(pair[1], now);
    if (problem) return problem;
  }
  return undefined;
};

/** Fields every update has. */
const COMMON: Record<string, Check> = {
  v: () => undefined, // checked first, as its own reason
  kind: () => undefined,
  // A fingerprint (see `fingerprint()`): 32 hex digits.
  id: (value) => (typeof value === 'string' && /^[0-9a-f]{32}$/.test(value) ? undefined : 'shape'),
  at: (value, now) => time(SKEW_MS)(value, now) ?? ((value as number) > 0 ? undefined : 'time'),
};

/**
 * The fields of each kind besides COMMON. To add a field (or a kind), add its check here and write it where the
 * update is built (SharedState): the exact-shape rule then accepts it, and a replica of the previous version drops
 * values carrying it (counted as `shape`) rather than misreading them. A change of meaning of an existing field
 * needs UPDATE_VERSION + 1.
 */
const KINDS: Record<UpdateKind, Record<string, Check>> = {
  key: { status: oneOf(KEY_STATUSES), until: time(DEADLINE_AHEAD_MS), lastError: nullable(lastError) },
  quota: {
    overall: nullable(figures),
    models,
    exhaustion: nullable(exhaustion),
    strikes: nullable(strikes),
    balance: nullable(balance),
  },
  hold: { held: oneOf([true, false]) },
};

const SHAPES = Object.fromEntries(
  Object.entries(KINDS).map(([kind, fields]) => [kind, exactly({ ...COMMON, ...fields })]),
) as Record<UpdateKind, Check>;

export type ReadResult = { update: SharedUpdate } | { rejected: StoreRejectReason };

/** Checks one value read from a store (already parsed JSON) against the shape this version writes, at `now`. */
export function readUpdate(value: unknown, now: number): ReadResult {
  if (!isRecord(value)) return { rejected: 'malformed' };
  if (value.v !== UPDATE_VERSION) return { rejected: 'version' };
  const shape = Object.hasOwn(KINDS, String(value.kind)) ? SHAPES[value.kind as UpdateKind] : undefined;
  if (!shape) return { rejected: 'kind' };
  const problem = shape(value, now);
  return problem ? { rejected: problem } : { update: value as unknown as SharedUpdate };
}

/** JSON text from a store, parsed only when it is no longer than `maxLength` (so a huge value costs no parse). */
export function parseStoreText(text: string, maxLength: number): { value: unknown } | { rejected: StoreRejectReason } {
  if (text.length > maxLength) return { rejected: 'oversized' };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { rejected: 'malformed' };
  }
}
