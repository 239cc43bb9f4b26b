// Key state shared between replicas through Redis (ioredis), off the request
// path: changes are coalesced and written every 250 ms with one HSET and one
// PUBLISH; counts are batched every second; every replica applies what the
// others publish. Redis down: nothing waits (no offline queue), one warning,
// `status()` says degraded; on reconnect the replica publishes its view again.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import type { SharedUpdate, Store, StoreHandlers } from './store.js';

export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL (a password in it is never logged). Defaults to `redis://127.0.0.1:6379`. */
  url: string;
  /** An ioredis client to reuse instead of `url`; the store duplicates it for its subscription. Defaults to none. */
  client: Redis;
  /** Prefix of every Redis key and channel. Defaults to `msb:`. */
  prefix: string;
  /** Where the one warning (and the reconnection) is logged. Defaults to a silent logger. */
  logger: Logger;
  /** How often coalesced changes are written. Defaults to 250 ms. */
  flushMs: number;
  /** How often request counts are written and the fleet's read. Defaults to 1000 ms. */
  countMs: number;
}

const LOOKUP_TIMEOUT_MS = 250;

export class RedisStore implements Store {
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly ownsClient: boolean;
  private readonly replica = randomUUID();
  private readonly dirty = new Map<string, SharedUpdate>();
  private readonly counts = new Map<string, number>();
  private fleet = new Map<string, number>();
  private handlers: StoreHandlers | undefined;
  private timers: NodeJS.Timeout[] = [];
  private warned = false;
  private closed = false;

  constructor(options: Partial<RedisStoreOptions> = {}) {
    this.prefix = options.prefix ?? 'msb:';
    this.logger = options.logger ?? silentLogger;
    // No offline queue and no per-command retries: a command while Redis is away fails at once instead of waiting.
    const behaviour: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    };
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', behaviour);
    // The subscription is not on any request's path: it may wait for the connection (and is renewed after a reconnect).
    this.subscriber = this.client.duplicate({ ...behaviour, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const connection of [this.client, this.subscriber]) {
      // ioredis emits every connection failure; one warning per outage is enough.
      connection.on('error', (error: NodeJS.ErrnoException) => this.degraded(error.code ?? 'error'));
    }
    this.client.on('close', () => this.degraded('connection closed'));
    this.client.on('ready', () => this.recovered());
    const flushMs = options.flushMs ?? 250;
    const countMs = options.countMs ?? 1_000;
    this.timers = [setInterval(() => this.flush(), flushMs), setInterval(() => this.flushCounts(), countMs)];
    for (const timer of this.timers) timer.unref();
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  start(handlers: StoreHandlers): void {
    this.handlers = handlers;
    this.subscriber.on('message', (_channel: string, message: string) => this.received(message));
    this.subscriber.subscribe(this.key('events')).catch(() => undefined);
    if (this.client.status === 'ready') this.recovered();
  }

  publish(update: SharedUpdate): void {
    this.dirty.set(`${update.kind}:${update.id}`, update);
  }

  rememberTask(taskId: string, fingerprint: string, ttlMs: number): void {
    this.client.set(this.key(`task:${taskId}`), fingerprint, 'PX', ttlMs).catch(() => this.degraded('write'));
  }

  async lookupTask(taskId: string): Promise<string | undefined> {
    if (this.client.status !== 'ready') return undefined;
    const timeout = new Promise<undefined>((resolve) => {
      setTimeout(() => resolve(undefined), LOOKUP_TIMEOUT_MS).unref();
    });
    const found = this.client.get(this.key(`task:${taskId}`)).catch(() => null);
    return (await Promise.race([found, timeout])) ?? undefined;
  }

  count(fingerprint: string): void {
    this.counts.set(fingerprint, (this.counts.get(fingerprint) ?? 0) + 1);
  }

  fleetCounts(): ReadonlyMap<string, number> {
    return this.fleet;
  }

  status(): 'ok' | 'degraded' {
    return this.client.status === 'ready' && this.subscriber.status === 'ready' ? 'ok' : 'degraded';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    this.subscriber.disconnect();
    if (this.ownsClient) this.client.disconnect();
  }

  /** Writes the coalesced changes: one HSET of the latest state, one PUBLISH for the other replicas. */
  private async flush(): Promise<void> {
    if (this.dirty.size === 0 || this.client.status !== 'ready') return;
    const updates = [...this.dirty.values()];
    this.dirty.clear();
    const fields = updates.flatMap((update) => [`${update.kind}:${update.id}`, JSON.stringify(update)]);
    try {
      await this.client
        .multi()
        .hset(this.key('state'), ...fields)
        .publish(this.key('events'), JSON.stringify({ from: this.replica, updates }))
        .exec();
    } catch {
      // Not sent: keep the newest of each for the next flush.
      for (const update of updates) {
        const id = `${update.kind}:${update.id}`;
        if (!this.dirty.has(id)) this.dirty.set(id, update);
      }
      this.degraded('write');
    }
  }

  private async flushCounts(): Promise<void> {
    if (this.client.status !== 'ready') return;
    const batch = [...this.counts];
    this.counts.clear();
    try {
      const pipeline = this.client.pipeline();
      for (const [fingerprint, n] of batch) pipeline.hincrby(this.key('count'), fingerprint, n);
      pipeline.hgetall(this.key('count'));
      const results = await pipeline.exec();
      const all = results?.[results.length - 1]?.[1] as Record<string, string> | undefined;
      if (all) this.fleet = new Map(Object.entries(all).map(([fingerprint, value]) => [fingerprint, Number(value)]));
    } catch {
      for (const [fingerprint, n] of batch) this.counts.set(fingerprint, (this.counts.get(fingerprint) ?? 0) + n);
      this.degraded('write');
    }
  }

  private received(message: string): void {
    try {
      const { from, updates } = JSON.parse(message) as { from: string; updates: SharedUpdate[] };
      if (from === this.replica) return;
      for (const update of updates) this.handlers?.apply(update);
    } catch {
      // A message not of ours on the channel: ignored.
    }
  }

  /** Connected (again): load what others wrote while we were away, then publish our own view. */
  private recovered(): void {
    if (!this.handlers || this.closed) return;
    if (this.warned) this.logger.info({ store: 'redis' }, 'shared store reachable again: sharing key state resumes');
    this.warned = false;
    this.client
      .hgetall(this.key('state'))
      .then((all) => {
        for (const text of Object.values(all)) {
          try {
            this.handlers?.apply(JSON.parse(text) as SharedUpdate);
          } catch {
            // A field not of ours: ignored.
          }
        }
        for (const update of this.handlers?.snapshot() ?? []) this.publish(update);
      })
      .catch(() => this.degraded('read'));
  }

  private degraded(reason: string): void {
    if (this.warned || this.closed) return;
    this.warned = true;
    this.logger.warn(
      { store: 'redis', reason },
      "shared store unreachable: serving on this replica's own key state until it returns",
    );
  }
}
