// The one seam between the Redis store and a client library: ioredis, or
// node-redis (the `redis` package, v4 to v6). Commands go as argument arrays
// (like rate-limit-redis's `sendCommand`), multi-step work as Lua scripts that
// Redis runs atomically (EVALSHA, then EVAL when Redis lacks the script), so
// nothing depends on how a library does MULTI or pipelines. A second
// connection, duplicated from the first, carries the subscription. Neither
// library is imported here: a client is recognised by its shape.
import { createHash } from 'node:crypto';

/** An ioredis client (`new Redis(…)`), as far as the store uses it. */
export interface IoRedisClient {
  readonly status: string;
  call(command: string, ...args: Array<string | Buffer | number>): Promise<unknown>;
  duplicate(override?: object): IoRedisClient;
  subscribe(...channels: string[]): Promise<unknown>;
  connect(): Promise<void>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A node-redis client (`createClient(…)` of the `redis` package, v4 to v6), as far as the store uses it. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  sendCommand(args: Array<string | Buffer>): Promise<unknown>;
  duplicate(overrides?: object): NodeRedisClient;
  connect(): Promise<unknown>;
  subscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => unknown,
    bufferMode: true,
  ): Promise<unknown>;
  /** v5 and later: closes at once (v4: `disconnect()`). */
  destroy?(): void;
  disconnect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export type RedisClient = IoRedisClient | NodeRedisClient;
export type RedisClientKind = 'ioredis' | 'node-redis';

/** Which library a client is from, or undefined when it looks like neither. */
export function redisClientKind(client: unknown): RedisClientKind | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const c = client as Record<string, unknown>;
  if (typeof c.call === 'function' && typeof c.status === 'string' && typeof c.duplicate === 'function')
    return 'ioredis';
  if (typeof c.sendCommand === 'function' && typeof c.isReady === 'boolean' && typeof c.duplicate === 'function')
    return 'node-redis';
  return undefined;
}

/** A Lua script with its SHA1, computed here (no SCRIPT LOAD round trip). */
export interface LuaScript {
  text: string;
  sha: string;
}

export function luaScript(text: string): LuaScript {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

/** What the link tells its owner. */
export interface LinkEvents {
  /** The command connection is usable (again). */
  ready(): void;
  /** The subscription's connection is up (again): messages sent while it was down were missed. */
  subscribed(): void;
  /** A connection failed or closed; `reason` is a short code (ECONNREFUSED…), never an address or a password. */
  down(reason: string): void;
  /** A message on the subscribed channel, as bytes (so an oversized one is dropped by its length, never decoded). */
  message(message: Buffer): void;
}

/** What differs between the two libraries, for one connection. */
interface Connection {
  ready(): boolean;
  send(args: string[]): Promise<unknown>;
  /** Connects, unless the library does so by itself or it is connected already. */
  open(): void;
  watch(events: Pick<LinkEvents, 'ready' | 'down'>): void;
  /** A new connection with the same settings, whose commands wait for it (a subscription must not be lost). */
  duplicate(): Connection;
  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<unknown>;
  close(): void;
}

const reason = (error: unknown) => {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'error';
};

function ioredisConnection(client: IoRedisClient): Connection {
  return {
    ready: () => client.status === 'ready',
    send: ([command, ...args]) => client.call(command, ...args),
    open: () => void (client.status === 'wait' && client.connect().catch(() => undefined)),
    watch(events) {
      client.on('ready', events.ready);
      // ioredis emits every connection failure; the owner warns once per outage.
      client.on('error', (error) => events.down(reason(error)));
      client.on('close', () => events.down('connection closed'));
    },
    duplicate: () => ioredisConnection(client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })),
    subscribe(channel, onMessage) {
      client.on('messageBuffer', (_channel, message) => onMessage(message as Buffer));
      return client.subscribe(channel);
    },
    close: () => client.disconnect(),
  };
}

function nodeRedisConnection(client: NodeRedisClient): Connection {
  return {
    ready: () => client.isReady,
    send: (args) => client.sendCommand(args),
    open: () => void (client.isOpen || client.connect().catch(() => undefined)),
    watch(events) {
      client.on('ready', events.ready);
      // node-redis emits every connection failure too (and throws on an 'error' nobody listens to).
      client.on('error', (error) => events.down(reason(error)));
      client.on('end', () => events.down('connection closed'));
    },
    duplicate: () => nodeRedisConnection(client.duplicate({ disableOfflineQueue: false })),
    subscribe: (channel, onMessage) => client.subscribe(channel, (message) => onMessage(message), true),
    close() {
      if (client.destroy) client.destroy();
      else client.disconnect().catch(() => undefined);
    },
  };
}

/** Thrown by `send` while the connection is not ready: nothing is queued, so nothing waits for Redis. */
export class RedisUnavailableError extends Error {
  constructor() {
    super('Redis is not connected');
    this.name = 'RedisUnavailableError';
  }
}

/** A command connection and a subscription connection to one Redis, through either library. */
export class RedisLink {
  readonly kind: RedisClientKind;
  private readonly commands: Connection;
  private listener: Connection | undefined;

  constructor(
    /** The client commands go through (the subscription uses a duplicate of it). */
    readonly client: RedisClient,
    /** Whether the link made the client (from a URL), and so closes it. */
    private readonly ownsClient: boolean,
  ) {
    const kind = redisClientKind(client);
    if (!kind) throw new TypeError('not an ioredis or node-redis client');
    this.kind = kind;
    this.commands =
      kind === 'ioredis' ? ioredisConnection(client as IoRedisClient) : nodeRedisConnection(client as NodeRedisClient);
  }

  /** Connects both connections and subscribes to `channel`; resolves at once (connecting goes on behind). */
  start(channel: string, events: LinkEvents): void {
    this.commands.watch(events);
    this.commands.open();
    const listener = (this.listener = this.commands.duplicate());
    // Its failures are the same outage.
    listener.watch({ ready: events.subscribed, down: events.down });
    listener.open();
    listener.subscribe(channel, events.message).catch(() => events.down('subscribe'));
  }

  /** Whether commands can be sent now. */
  ready(): boolean {
    return this.commands.ready();
  }

  /** Whether the subscription's connection is up. */
  subscribed(): boolean {
    return this.listener?.ready() ?? false;
  }

  /** Sends one command (arguments as strings); rejects at once while not connected. */
  send(args: string[]): Promise<unknown> {
    if (!this.commands.ready()) return Promise.reject(new RedisUnavailableError());
    return this.commands.send(args);
  }

  /** Runs a script atomically: by its SHA1, or by its text when Redis does not have it yet (then it does). */
  async run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!String((error as Error | undefined)?.message).includes('NOSCRIPT')) throw error;
      return this.send(['EVAL', script.text, ...tail]);
    }
  }

  /** Closes the subscription's connection, and the client too when the link made it. */
  close(): void {
    this.listener?.close();
    if (this.ownsClient) this.commands.close();
  }
}

/** A hash as read (HGETALL): a flat array (RESP2), a Map or an object (RESP3, ioredis), as [field, value] pairs. */
export function hashPairs(reply: unknown): Array<[string, unknown]> {
  if (Array.isArray(reply)) {
    const pairs: Array<[string, unknown]> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]]);
    return pairs;
  }
  if (reply instanceof Map) return [...reply].map(([field, value]) => [String(field), value]);
  if (typeof reply === 'object' && reply !== null) return Object.entries(reply);
  return [];
}
