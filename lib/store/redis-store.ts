// Key state shared between replicas through Redis, off the request path:
// changes are coalesced and written every 250 ms by one script (the latest
// state into a hash, and PUBLISHes of at most 128 KiB each); every replica
// applies what the others publish, once it has passed `readUpdate()`. Counts,
// the heartbeat and pruning are the FleetBook's. Redis down: nothing waits
// (no offline queue), one warning, `status()` says degraded; on reconnect the
// replica publishes its view again. Any client library goes through RedisLink;
// nothing connects before `init`.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../observe/logger.js';
import { FleetBook } from './redis-fleet.js';
import { hashPairs, type RedisClient, type RedisClientKind, RedisLink } from './redis-link.js';
import {
  type CheckedRedisStoreOptions,
  checkRedisStoreOptions,
  type RedisStoreOptions,
} from './redis-store-options.js';
import { FLUSH } from './redis-scripts.js';
import { parseStoreText } from './shared-update.js';
import type { SharedUpdate, Store, StoreHandlers } from './store.js';

export type { RedisStoreOptions } from './redis-store-options.js';

/** One PUBLISH carries at most this much; a larger batch is split. Larger incoming messages are dropped unread. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
/** How soon a failed load of the state hash is tried again while connected. */
const RELOAD_AFTER_MS = 1000;
/** A value in the state hash is one update: far smaller than a message. */
const MAX_VALUE_LENGTH = 96 * 1024;

export class RedisStore implements Store {
  /** Prefix of every Redis key and channel this store uses (`counter:<name>` for `increment`'s counters). */
  readonly prefix: string;
  private readonly options: CheckedRedisStoreOptions;
  private readonly logger: Logger;
  private readonly replica = randomUUID();
  private readonly dirty = new Map<string, SharedUpdate>();
  private link: RedisLink | undefined;
  private readonly fleet: FleetBook;
  private handlers: StoreHandlers | undefined;
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private closed = false;
  /**
   * Whether what the others wrote has been loaded since the connections came up (last): until then the store says
   * degraded, so `/health` says 'ok' only once this replica knows what the fleet knows.
   */
  private loaded = false;

  /** Checks the options; connects nothing (that is `init`'s, called by the balancer). */
  constructor(options: Partial<RedisStoreOptions> = {}) {
    this.options = checkRedisStoreOptions(options);
    this.prefix = this.options.prefix;
    this.logger = this.options.logger;
    this.fleet = new FleetBook({
      link: () => this.link,
      prefix: this.prefix,
      instance: this.replica,
      countMs: this.options.countMs,
      heartbeatMs: this.options.heartbeatMs,
      members: () => this.handlers?.members() ?? [],
      failed: (reason) => this.degraded(reason),
    });
  }

  /**
   * The client commands go through, once `init` has run: the one given, or the ioredis client made from `url`.
   * For a library that needs the raw client (rate-limiter-flexible's `storeClient`, with `useRedisPackage` when
   * `clientKind` is 'node-redis'); its keys should start with `prefix`.
   */
  get client(): RedisClient | undefined {
    return this.link?.client;
  }

  get clientKind(): RedisClientKind | undefined {
    return this.link?.kind;
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /**
   * Connects (a URL: through ioredis, loaded now), subscribes, loads what the others wrote. Resolves once connected
   * or once the first attempt failed (it keeps trying behind); rejects only when ioredis is missing for a URL.
   */
  async init(handlers: StoreHandlers): Promise<void> {
    if (this.link || this.closed) return;
    this.handlers = handlers;
    const given = this.options.client;
    const link = new RedisLink(given ?? (await this.connect(this.options.url)), given === undefined);
    if (this.closed) return link.close();
    this.link = link;
    const settled = new Promise<void>((resolve) => {
      link.start(this.key('events'), {
        // Once both connections are up (again), whichever comes second: what was published while either was down
        // is in the state hash, read after the subscription is back, so nothing falls between the two.
        ready: () => {
          resolve();
          if (link.subscribed()) this.recovered();
        },
        subscribed: () => {
          resolve();
          if (link.ready()) this.recovered();
        },
        down: (reason) => {
          resolve();
          this.degraded(reason);
        },
        // As bytes: an oversized message is dropped by its length, never decoded or parsed.
        message: (message) => this.received(message),
      });
    });
    this.fleet.start();
    // Checks `dirty` and sends nothing when it is empty: no Redis command while idle.
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
    await settled;
  }

  /** An ioredis client for `url`; no offline queue and no per-command retries, so a command fails at once. */
  private async connect(url: string): Promise<RedisClient> {
    let Redis: typeof import('ioredis').Redis;
    try {
      ({ Redis } = await import('ioredis'));
    } catch {
      throw new Error(
        'RedisStore: `url` needs the ioredis package (npm install ioredis), or pass a node-redis client as `client`',
      );
    }
    return new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
  }

  publish(update: SharedUpdate): void {
    this.dirty.set(`${update.kind}:${update.id}`, update);
  }

  rememberTask(taskId: string, fingerprint: string, ttlMs: number): void {
    if (!this.link?.ready()) return;
    this.link.send(['SET', this.key(`task:${taskId}`), fingerprint, 'PX', String(ttlMs)]).catch(() => {
      this.degraded('write');
    });
  }

  async lookupTask(taskId: string): Promise<string | undefined> {
    const found = await this.command(['GET', this.key(`task:${taskId}`)]);
    return typeof found === 'string' ? found : undefined;
  }

  /** Only a clear "someone else has it" (no reply to SET NX) stops the trial. */
  async claimTrial(fingerprint: string, ttlMs: number): Promise<boolean> {
    const ms = String(Math.max(1, Math.round(ttlMs)));
    return (await this.command(['SET', this.key(`trial:${fingerprint}`), this.replica, 'PX', ms, 'NX'])) !== null;
  }

  /**
   * One INCRBY per call (a daily budget calls it on every request: one command, not a script's three). The end is
   * set when the counter starts (its total is what was just added); a counter's name holds its day, so the rare
   * counter left without an end (the process gone between the two commands) is never counted on again.
   */
  async increment(name: string, by: number, expiresAt: number): Promise<number> {
    const key = this.key(`counter:${name}`);
    const total = Number(await this.command(['INCRBY', key, String(by)]));
    if (total === by) await this.command(['PEXPIREAT', key, String(Math.round(expiresAt))]);
    return total;
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

  /** 'ok' once both connections are up and what the others wrote is loaded; 'degraded' before, and while away. */
  status(): 'ok' | 'degraded' {
    return this.loaded && this.link?.ready() && this.link.subscribed() ? 'ok' : 'degraded';
  }

  /** Writes what is pending, says goodbye to the fleet, and closes the connections it opened. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
    await this.fleet.close();
    this.link?.close();
  }

  private connected(): RedisLink {
    if (!this.link) throw new Error('RedisStore: not started');
    return this.link;
  }

  private command(args: string[]): Promise<unknown> {
    return this.connected().send(args);
  }

  /** Writes the coalesced changes: the latest state into the hash, and PUBLISHes of at most 128 KiB each. */
  private async flush(): Promise<void> {
    const { link } = this;
    if (this.dirty.size === 0 || !link?.ready()) return;
    const updates = [...this.dirty.values()];
    this.dirty.clear();
    const fields = updates.flatMap((update) => [`${update.kind}:${update.id}`, JSON.stringify(update)]);
    try {
      await link.run(
        FLUSH,
        [this.key('state'), this.key('events')],
        [String(fields.length), ...fields, ...this.messages(updates)],
      );
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
    const { handlers, fleet } = this;
    if (!handlers || this.closed) return;
    if (this.warned) this.logger.info({ store: 'redis' }, 'shared store reachable again: sharing key state resumes');
    this.warned = false;
    this.loaded = false;
    this.load(handlers).then(
      async () => {
        this.loaded = true;
        for (const update of handlers.snapshot()) this.publish(update);
        await fleet.rejoined();
      },
      () => {
        this.degraded('read');
        // Connected but the read failed: try again shortly (a reconnect would start it again anyway).
        const retry = setTimeout(() => {
          if (this.link?.ready() && this.link.subscribed()) this.recovered();
        }, RELOAD_AFTER_MS);
        retry.unref();
      },
    );
  }

  /** Hands over every value of the state hash (each one checked by the balancer). */
  private async load(handlers: StoreHandlers): Promise<void> {
    const all = await this.connected().send(['HGETALL', this.key('state')]);
    for (const [, text] of hashPairs(all)) {
      const read = parseStoreText(String(text), MAX_VALUE_LENGTH);
      if ('rejected' in read) handlers.rejected(read.rejected);
      else handlers.apply(read.value);
    }
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
