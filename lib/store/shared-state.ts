// Binds the pool to a store: local changes are handed to it (it coalesces and
// sends them), changes from other replicas are applied to the pool's entries
// once they pass the check of `readUpdate()`.
import { type Logger, silentLogger } from '../observe/logger.js';
import type { StoreRejectReason } from '../observe/metrics.js';
import type { KeyPool } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { CompleteStore } from './complete-store.js';
import { readUpdate, UPDATE_VERSION } from './shared-update.js';
import { fingerprint, type SharedUpdate, type Store, type StoreStatus } from './store.js';

/** The pool's entries by key id, and one entry per account id (the keys of an account share its AccountQuota). */
interface EntryIndex {
  of: readonly PoolEntry[];
  keys: Map<string, PoolEntry>;
  accounts: Map<string, PoolEntry>;
}

export class SharedState {
  /** Each key's fingerprint by key (computed once per key; forgotten when a removed key retires). */
  private readonly fingerprints = new Map<string, string>();
  /** When each key's state and each account's figures last changed, here or anywhere (0: never). */
  private readonly changedAt = new Map<string, number>();
  /** Rebuilt when the pool's membership changes. */
  private index: EntryIndex | undefined;

  /** The store, its optional methods answered by their defaults. */
  readonly store: CompleteStore;
  /** Whether the store shares anything: a 'local' one (the memory store) is told nothing, at no cost per request. */
  private readonly sharing: boolean;

  constructor(
    private readonly pool: KeyPool,
    store: Store | CompleteStore,
    /** Counts a value from the store that was dropped (the `store_rejected_total` metric). */
    private readonly onRejected: (reason: StoreRejectReason) => void = () => {},
    /** Where a store that fails to start (or throws) is warned about. */
    private readonly logger: Logger = silentLogger,
  ) {
    this.store = CompleteStore.of(store);
    this.sharing = this.store.status() !== 'local';
  }

  /** Starts the store (its `init`); resolves once it has started or failed to, never rejects. */
  start(): Promise<void> {
    return this.store.init(
      {
        apply: (update) => this.apply(update),
        rejected: (reason) => this.onRejected(reason),
        snapshot: () => this.snapshot(),
        members: () => this.members(),
      },
      this.logger,
    );
  }

  /** Stops the store (its `shutdown`, once). */
  stop(): Promise<void> {
    return this.store.shutdown();
  }

  /** 'ok', 'degraded' or 'local': the store's own word, or its default. */
  status(): StoreStatus {
    return this.store.status();
  }

  /**
   * Forgets a key that left the pool and has no request left on it (the pool's `retired` event): its fingerprint and
   * change times, so a pool whose keys come and go does not grow. A key back in the pool meanwhile is kept.
   */
  forget(entry: PoolEntry): void {
    if (this.pool.hasKey(entry.key)) return;
    const id = this.fingerprints.get(entry.key);
    this.fingerprints.delete(entry.key);
    if (id === undefined) return;
    this.changedAt.delete(`key:${id}`);
    this.changedAt.delete(`hold:${id}`);
    if (entry.ownAccount) this.changedAt.delete(`quota:${id}`);
  }

  /**
   * Adds `by` to the fleet's counter `name` (ending at `expiresAt`, epoch ms) and answers its new total; undefined
   * when the store keeps no counters or cannot answer within 250 ms: count on this replica alone then.
   */
  increment(name: string, by: number, expiresAt: number): Promise<number | undefined> {
    return this.store.increment(name, by, expiresAt);
  }

  /** A key's fingerprint (computed once per key). */
  keyId(entry: PoolEntry): string {
    let id = this.fingerprints.get(entry.key);
    if (!id) this.fingerprints.set(entry.key, (id = fingerprint(entry.key)));
    return id;
  }

  /** An account's id: the key's own for a key's private account, else the account name's fingerprint. */
  private accountId(entry: PoolEntry): string {
    return entry.ownAccount ? this.keyId(entry) : fingerprint(entry.accountName, 'account');
  }

  keyChanged(entry: PoolEntry): void {
    if (!this.sharing) return;
    this.changed(`key:${this.keyId(entry)}`);
    this.store.publish(this.keyUpdate(entry));
  }

  quotaChanged(entry: PoolEntry): void {
    if (!this.sharing) return;
    this.changed(`quota:${this.accountId(entry)}`);
    this.store.publish(this.quotaUpdate(entry));
  }

  /** An operator's hold or release: fleet-wide, like a cooldown. */
  holdChanged(entry: PoolEntry): void {
    if (!this.sharing) return;
    this.changed(`hold:${this.keyId(entry)}`);
    this.store.publish(this.holdUpdate(entry));
  }

  /** Whether this replica may send a refused key's trial request now (one per fleet per period). */
  async claimTrial(entry: PoolEntry, periodMs: number): Promise<boolean> {
    if (!this.sharing) return true;
    return this.store.claimTrial(this.keyId(entry), periodMs);
  }

  /** Reads the fleet's request counts now, for someone who shows them (/stats, /admin/keys). */
  async readFleetCounts(): Promise<void> {
    if (this.sharing) await this.store.readFleetCounts();
  }

  /**
   * Stamps a local change: now, or just after the last change of the same thing when that was within the same
   * millisecond (a trial call that starts and succeeds at once), so the other replicas apply both in order.
   */
  private changed(id: string): void {
    this.changedAt.set(id, Math.max(this.pool.now(), (this.changedAt.get(id) ?? 0) + 1));
  }

  counted(entry: PoolEntry): void {
    if (this.sharing) this.store.count(this.keyId(entry));
  }

  rememberTask(taskId: string, entry: PoolEntry, ttlMs: number): void {
    this.store.rememberTask(taskId, this.keyId(entry), ttlMs);
  }

  /** The key that submitted a task through another replica (one store lookup), if it is in this pool. */
  async lookupTask(taskId: string): Promise<PoolEntry | undefined> {
    const id = await this.store.lookupTask(taskId);
    return id === undefined ? undefined : this.lookup().keys.get(id);
  }

  /** Requests sent with this key by the whole fleet, as last read from the store. */
  fleetRequests(entry: PoolEntry): number | undefined {
    return this.store.fleetCounts().get(this.keyId(entry));
  }

  private keyUpdate(entry: PoolEntry): SharedUpdate {
    const { status, until, lastError } = entry.state;
    const id = this.keyId(entry);
    return { v: UPDATE_VERSION, kind: 'key', id, at: this.changedAt.get(`key:${id}`) ?? 0, status, until, lastError };
  }

  private holdUpdate(entry: PoolEntry): SharedUpdate {
    const id = this.keyId(entry);
    return { v: UPDATE_VERSION, kind: 'hold', id, at: this.changedAt.get(`hold:${id}`) ?? 0, held: entry.state.held };
  }

  private quotaUpdate(entry: PoolEntry): SharedUpdate {
    const id = this.accountId(entry);
    const { account } = entry;
    return {
      v: UPDATE_VERSION,
      kind: 'quota',
      id,
      at: this.changedAt.get(`quota:${id}`) ?? 0,
      overall: account.overall,
      models: [...account.models],
      exhaustion: account.exhaustion,
      strikes: account.strikes,
      balance: account.balance,
    };
  }

  /** This replica's view of what changed here or was learnt (never-changed keys say nothing). */
  private snapshot(): SharedUpdate[] {
    return this.pool.entries
      .flatMap((entry) => [this.keyUpdate(entry), this.quotaUpdate(entry), this.holdUpdate(entry)])
      .filter((update) => update.at > 0);
  }

  /** Every id this replica's pool holds state under: its keys' fingerprints and its accounts'. */
  private members(): string[] {
    const ids = new Set<string>();
    for (const entry of this.pool.entries) {
      ids.add(this.keyId(entry));
      ids.add(this.accountId(entry));
    }
    return [...ids];
  }

  /** The index of the pool's entries now (rebuilt in one pass, linear in the keys, after a change of membership). */
  private lookup(): EntryIndex {
    const entries = this.pool.entries;
    if (this.index?.of === entries) return this.index;
    const keys = new Map<string, PoolEntry>();
    const accounts = new Map<string, PoolEntry>();
    for (const entry of entries) {
      keys.set(this.keyId(entry), entry);
      const id = this.accountId(entry);
      if (!accounts.has(id)) accounts.set(id, entry);
    }
    this.index = { of: entries, keys, accounts };
    return this.index;
  }

  /**
   * Another replica's change, applied only once it has the exact shape this version writes (`readUpdate`). It
   * says nothing new to log or count here: that replica did both.
   */
  private apply(value: unknown): void {
    const read = readUpdate(value, this.pool.now());
    if ('rejected' in read) return this.onRejected(read.rejected);
    const { update } = read;
    const id = `${update.kind}:${update.id}`;
    if (!(update.at > (this.changedAt.get(id) ?? 0))) return;
    this.changedAt.set(id, update.at);
    if (update.kind === 'hold') {
      const entry = this.lookup().keys.get(update.id);
      if (entry) entry.state.held = update.held;
      return;
    }
    if (update.kind === 'key') {
      const entry = this.lookup().keys.get(update.id);
      if (!entry || entry.state.held) return;
      entry.state.status = update.status;
      entry.state.until = update.until;
      entry.state.lastError = update.lastError;
      if (update.status === 'healthy') entry.state.consecutiveFailures = 0;
      return;
    }
    // Keys of one account share one AccountQuota object: updating one updates them all.
    const entry = this.lookup().accounts.get(update.id);
    if (!entry) return;
    const { account } = entry;
    account.overall = update.overall;
    account.models.clear();
    for (const [model, figures] of update.models) account.models.set(model, figures);
    account.exhaustion = update.exhaustion;
    account.strikes = update.strikes;
    account.balance = update.balance;
  }
}
