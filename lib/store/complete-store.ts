// A store as the balancer calls it: every optional method answered by the
// default the Store interface documents, started and stopped once, and every
// answer a request may wait for bounded (250 ms; none while degraded). So a
// store stays small and the rules live in one place.
import type { Logger } from '../observe/logger.js';
import type { SharedUpdate } from './shared-update.js';
import type { Store, StoreHandlers, StoreStatus } from './store.js';

/** The longest a request waits for a store's answer (a task's key, a trial claim, a counter, the fleet's counts). */
export const STORE_WAIT_MS = 250;

const NO_COUNTS: ReadonlyMap<string, number> = new Map();

export class CompleteStore {
  private started: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  private initFailed = false;
  private logger: Logger | undefined;
  /** Methods that threw once: one warning each, not one per request. */
  private readonly warned = new Set<string>();

  private constructor(
    /** The store as given. */
    readonly store: Store,
  ) {}

  /** `store` completed (a store already completed is returned as it is). */
  static of(store: Store | CompleteStore): CompleteStore {
    return store instanceof CompleteStore ? store : new CompleteStore(store);
  }

  /** The store's name for logs: its class. */
  get name(): string {
    return this.store.constructor?.name || 'store';
  }

  /** Starts the store once; never rejects (a failed start is one warning, and the store is degraded from then on). */
  init(handlers: StoreHandlers, logger: Logger): Promise<void> {
    this.logger = logger;
    this.started ??= (async () => {
      try {
        await this.store.init?.(handlers);
      } catch (error) {
        this.initFailed = true;
        logger.warn(
          { store: this.name, err: describe(error) },
          "shared store failed to start: serving on this replica's own key state",
        );
      }
    })();
    return this.started;
  }

  /** Stops the store once (later calls share the first one's promise). */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      await this.store.shutdown?.();
    })();
    return this.stopped;
  }

  status(): StoreStatus {
    return this.initFailed ? 'degraded' : (this.store.status?.() ?? 'ok');
  }

  publish(update: SharedUpdate): void {
    try {
      this.store.publish(update);
    } catch (error) {
      this.threw('publish', error);
    }
  }

  count(fingerprint: string): void {
    try {
      this.store.count?.(fingerprint);
    } catch (error) {
      this.threw('count', error);
    }
  }

  fleetCounts(): ReadonlyMap<string, number> {
    return this.store.fleetCounts?.() ?? NO_COUNTS;
  }

  readFleetCounts(): Promise<void> {
    const { store } = this;
    return this.bounded(store.readFleetCounts && (() => store.readFleetCounts?.()), undefined);
  }

  rememberTask(taskId: string, fingerprint: string, ttlMs: number): void {
    try {
      this.store.rememberTask?.(taskId, fingerprint, ttlMs);
    } catch (error) {
      this.threw('rememberTask', error);
    }
  }

  /** The fingerprint of the key that submitted a task, or undefined (unknown, no answer in time, degraded). */
  lookupTask(taskId: string): Promise<string | undefined> {
    const { store } = this;
    return this.bounded(store.lookupTask && (() => store.lookupTask?.(taskId)), undefined).then((id) =>
      typeof id === 'string' ? id : undefined,
    );
  }

  /** False only when the store says another replica holds the trial. */
  claimTrial(fingerprint: string, ttlMs: number): Promise<boolean> {
    const { store } = this;
    return this.bounded(store.claimTrial && (() => store.claimTrial?.(fingerprint, ttlMs)), true).then(
      (claimed) => claimed !== false,
    );
  }

  /** The fleet's new total of a counter, or undefined when the store has no counters or cannot answer now. */
  increment(name: string, by: number, expiresAt: number): Promise<number | undefined> {
    if (typeof name !== 'string' || name === '' || name.length > 256)
      throw new RangeError('increment: `name` must be a string of 1 to 256 characters');
    if (!Number.isSafeInteger(by)) throw new RangeError(`increment: \`by\` must be a whole number, got ${by}`);
    if (!Number.isFinite(expiresAt))
      throw new RangeError(`increment: \`expiresAt\` must be epoch ms, got ${expiresAt}`);
    const { store } = this;
    return this.bounded(store.increment && (() => store.increment?.(name, by, expiresAt)), undefined).then((total) =>
      Number.isSafeInteger(total) ? total : undefined,
    );
  }

  /** A method that must never fail a request threw: one warning per method, then silence. */
  private threw(method: string, error: unknown): void {
    if (this.warned.has(method)) return;
    this.warned.add(method);
    this.logger?.warn({ store: this.name, method, err: describe(error) }, 'shared store method threw: ignored');
  }

  /** The store's answer within STORE_WAIT_MS, else `fallback` (so too without the method, on a rejection, degraded). */
  private bounded<T>(call: (() => Promise<T> | undefined) | undefined, fallback: T): Promise<T> {
    if (!call || this.status() === 'degraded') return Promise.resolve(fallback);
    let answer: Promise<T>;
    try {
      answer = Promise.resolve(call() as Promise<T>);
    } catch {
      return Promise.resolve(fallback);
    }
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => resolve(fallback), STORE_WAIT_MS);
      timer.unref();
      const settle = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      answer.then(settle, () => settle(fallback));
    });
  }
}

/** An error's message for a log line, bounded (a store's error may be long). */
function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}
