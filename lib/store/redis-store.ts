// Key state shared between replicas through Redis (ioredis), off the request
// path: changes are coalesced and written every 250 ms with one HSET and one
// PUBLISH (or a few: one message stays under 128 KiB); every replica applies
// what the others publish, once it has passed `readUpdate()`. Counts, the
// heartbeat and pruning are the FleetBook's. Redis down: nothing waits (no
// offline queue), one warning, `status()` says degraded; on reconnect the
// replica publishes its view again.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import { FleetBook } from './redis-fleet.js';
import { parseStoreText } from './shared-update.js';
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
  /**
   * How long request counts are batched before they are written (nothing is written while there are none), and
   * how long a read of the fleet's counts stays fresh. Defaults to 1000 ms.
   */
  countMs: number;
  /**
   * Time between a replica's heartbeats (two commands); one missing three is gone, and the state of keys no live
   * replica holds is pruned every ten. Defaults to 30 000 ms.
   */
  heartbeatMs: number;
}

const LOOKUP_TIMEOUT_MS = 250;
/** One PUBLISH carries at most this much; a larger batch is split. Larger incoming messages are dropped unread. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** A value in the state hash is one update: far smaller than a message. */
const MAX_VALUE_LENGTH = 96 * 1024;

export class RedisStore implements Store {
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly ownsClient: boolean;
  private readonly replica = randomUUID();
  private readonly dirty = new Map<string, SharedUpdate>();
  private readonly fleet: FleetBook;
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
    this.fleet = new FleetBook({
      client: this.client,
      prefix: this.prefix,
      instance: this.replica,
      countMs: options.countMs ?? 1_000,
      heartbeatMs: options.heartbeatMs ?? 30_000,
      members: () => this.handlers?.members() ?? [],
      failed: (reason) => this.degraded(reason),
    });
    // Checks `dirty` and sends nothing when it is empty: no Redis command while idle.
    this.timers = [setInterval(() => this.flush(), options.flushMs ?? 250)];
    for (const timer of this.timers) timer.unref();
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  start(handlers: StoreHandlers): void {
    this.handlers = handlers;
    // As bytes: an oversized message is dropped by its length, never decoded or parsed.
    this.subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.received(message));
    this.subscriber.subscribe(this.key('events')).catch(() => undefined);
    this.fleet.start();
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

  async claimTrial(fingerprint: string, ttlMs: number): Promise<boolean> {
    if (this.client.status !== 'ready') return true;
    const timeout = new Promise<'timeout'>((resolve) => {
      setTimeout(() => resolve('timeout'), LOOKUP_TIMEOUT_MS).unref();
    });
    const claim = this.client
      .set(this.key(`trial:${fingerprint}`), this.replica, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')
      .catch(() => 'failed' as const);
    // Only a clear "someone else has it" (null) stops the trial; no answer in time means this replica decides alone.
    return (await Promise.race([claim, timeout])) !== null;
  }

  count(fingerprint: string): void {
    this.fleet.count(fingerprint);
  }

  fleetCounts(): ReadonlyMap<string, number> {
    return this.fleet.counts();
  }

  readFleetCounts(): Promise<void> {
    return this.fleet.read();
  }

  status(): 'ok' | 'degraded' {
    return this.client.status === 'ready' && this.subscriber.status === 'ready' ? 'ok' : 'degraded';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await this.flush();
    await this.fleet.close();
    this.subscriber.disconnect();
    if (this.ownsClient) this.client.disconnect();
  }

  /** Writes the coalesced changes: one HSET of the latest state, and PUBLISHes of at most 128 KiB each. */
  private async flush(): Promise<void> {
    if (this.dirty.size === 0 || this.client.status !== 'ready') return;
    const updates = [...this.dirty.values()];
    this.dirty.clear();
    const fields = updates.flatMap((update) => [`${update.kind}:${update.id}`, JSON.stringify(update)]);
    try {
      const transaction = this.client.multi().hset(this.key('state'), ...fields);
      for (const message of this.messages(updates)) transaction.publish(this.key('events'), message);
      await transaction.exec();
    } catch {
      // Not sent: keep the newest of each for the next flush.
      for (const update of updates) {
        const id = `${update.kind}:${update.id}`;
        if (!this.dirty.has(id)) this.dirty.set(id, update);
      }
      this.degraded('write');
    }
  }

  /** The updates as messages of at most MAX_MESSAGE_BYTES each (one update is always far smaller). */
  private messages(updates: SharedUpdate[]): string[] {
    const head = `{"from":${JSON.stringify(this.replica)},"updates":[`;
    const messages: string[] = [];
    let batch: string[] = [];
    let size = head.length + 2;
    for (const update of updates) {
      const text = JSON.stringify(update);
      const bytes = Buffer.byteLength(text) + 1;
      if (batch.length > 0 && size + bytes > MAX_MESSAGE_BYTES) {
        messages.push(`${head}${batch.join(',')}]}`);
        batch = [];
        size = head.length + 2;
      }
      batch.push(text);
      size += bytes;
    }
    if (batch.length > 0) messages.push(`${head}${batch.join(',')}]}`);
    return messages;
  }

  /** Another replica's message: dropped unread when oversized, else each update handed over to be checked. */
  private received(message: Buffer): void {
    if (message.length > MAX_MESSAGE_BYTES) return this.handlers?.rejected('oversized');
    const read = parseStoreText(message.toString('utf8'), MAX_MESSAGE_BYTES);
    if ('rejected' in read) return this.handlers?.rejected(read.rejected);
    const { from, updates } = (read.value ?? {}) as { from?: unknown; updates?: unknown };
    if (typeof from !== 'string' || !Array.isArray(updates)) return this.handlers?.rejected('malformed');
    if (from === this.replica) return;
    for (const update of updates) this.handlers?.apply(update);
  }

  /** Connected (again): load what others wrote while we were away, then publish our own view. */
  private recovered(): void {
    if (!this.handlers || this.closed) return;
    if (this.warned) this.logger.info({ store: 'redis' }, 'shared store reachable again: sharing key state resumes');
    this.warned = false;
    this.client
      .hgetall(this.key('state'))
      .then(async (all) => {
        for (const text of Object.values(all)) {
          const read = parseStoreText(text, MAX_VALUE_LENGTH);
          if ('rejected' in read) this.handlers?.rejected(read.rejected);
          else this.handlers?.apply(read.value);
        }
        for (const update of this.handlers?.snapshot() ?? []) this.publish(update);
        await this.fleet.rejoined();
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
