// The fleet's bookkeeping in Redis: who is alive, which keys each replica
// holds, and how many requests each sent with each key. Built to cost nothing
// while idle: counts are written only when there are new ones, read only when
// someone asks (/stats, /admin/keys), and a replica's heartbeat is one
// script of two commands every 30 s (four when its keys changed).
//
//   <prefix>epoch           a random id set once: a different one after a reconnect means Redis lost its data
//   <prefix>replicas        sorted set: replica instance → when its heartbeat expires (epoch ms)
//   <prefix>members:<inst>  set: the fingerprints of that replica's keys and accounts (expires with the heartbeat)
//   <prefix>count           hash: "<inst>:<fingerprint>" → that replica's own total (absolute, so writing it again
//                           is harmless: after Redis comes back empty every replica simply writes its totals again);
//                           "retired:<fingerprint>" → the totals of replicas gone, folded in by the prune
//
// The prune (a Lua script, atomic: see redis-scripts.ts) drops replicas whose
// heartbeat expired, folds their counts into "retired", and removes the state,
// hold and count fields of keys and accounts no live replica holds.
import { randomUUID } from 'node:crypto';
import { hashPairs, type RedisLink } from './redis-link.js';
import { HEARTBEAT, PRUNE, REJOIN } from './redis-scripts.js';

/** A replica missing three heartbeats is gone; the prune runs every ten. */
const MISSED_HEARTBEATS = 3;
const HEARTBEATS_PER_PRUNE = 10;

const COUNT_FIELD = /^([0-9a-f-]{36}|retired):([0-9a-f]{32})$/;

export interface FleetBookOptions {
  /** The connection, once the store has started (counts made before are kept until then). */
  link(): RedisLink | undefined;
  prefix: string;
  /** This process's instance id (a UUID): its own fields are named by it. */
  instance: string;
  /** How long new counts wait before they are written (they are batched), and how fresh a read stays. */
  countMs: number;
  /** Time between heartbeats. */
  heartbeatMs: number;
  /** The ids this replica holds (its keys' and accounts' fingerprints). */
  members(): string[];
  /** A command failed: the store is degraded. */
  failed(reason: string): void;
}

export class FleetBook {
  /** This replica's own totals by fingerprint, since it started. */
  private readonly totals = new Map<string, number>();
  private readonly unwritten = new Set<string>();
  private writeTimer: NodeJS.Timeout | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private fleet = new Map<string, number>();
  private readAt = -Infinity;
  private reading: Promise<void> | undefined;
  /** The member list last written (joined), or undefined before the first. */
  private membersSent: string | undefined;
  /** The epoch of the Redis data last seen. */
  private epoch: string | undefined;

  constructor(private readonly o: FleetBookOptions) {}

  private key(name: string): string {
    return this.o.prefix + name;
  }

  /** The link (a command on it rejects while it is not ready). */
  private connected(): RedisLink {
    const link = this.o.link();
    if (!link) throw new Error('RedisStore: not started');
    return link;
  }

  private ready(): boolean {
    return this.o.link()?.ready() ?? false;
  }

  /** Starts the heartbeat and the periodic prune (timers that never keep the process alive). */
  start(): void {
    const { heartbeatMs } = this.o;
    this.timers.push(
      setInterval(() => void this.heartbeat(), heartbeatMs),
      setInterval(() => void this.prune(), heartbeatMs * HEARTBEATS_PER_PRUNE),
    );
    for (const timer of this.timers) timer.unref();
  }

  /**
   * Connected (again). To a Redis that lost its data (a new epoch): every total is written again. To the same
   * data after this replica was taken for gone (its counts folded into "retired" by another's prune): its own
   * totals start again from zero, so nothing is counted twice.
   */
  async rejoined(): Promise<void> {
    try {
      const reply = await this.connected().run(
        REJOIN,
        [this.key('epoch'), this.key('replicas')],
        [randomUUID(), this.o.instance],
      );
      const [epoch, listed] = Array.isArray(reply) ? reply.map(String) : [];
      if (epoch === undefined) throw new Error('unexpected reply');
      if (epoch !== this.epoch) {
        for (const id of this.totals.keys()) this.unwritten.add(id);
      } else if (listed !== '1') {
        this.totals.clear();
        this.unwritten.clear();
      }
      this.epoch = epoch;
    } catch {
      return this.o.failed('read');
    }
    this.membersSent = undefined;
    this.scheduleWrite();
    await this.heartbeat();
    await this.prune();
  }

  count(id: string): void {
    this.totals.set(id, (this.totals.get(id) ?? 0) + 1);
    this.unwritten.add(id);
    this.scheduleWrite();
  }

  /** The fleet's totals: the others' as last read, this replica's own exactly. */
  counts(): ReadonlyMap<string, number> {
    const all = new Map(this.fleet);
    for (const [id, n] of this.totals) all.set(id, (all.get(id) ?? 0) + n);
    return all;
  }

  /** Reads the others' totals, at most once per `countMs` (concurrent readers share one read). */
  read(): Promise<void> {
    if (!this.ready() || performance.now() - this.readAt < this.o.countMs) return Promise.resolve();
    this.reading ??= this.readNow().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async readNow(): Promise<void> {
    this.readAt = performance.now();
    try {
      const all = hashPairs(await this.connected().send(['HGETALL', this.key('count')]));
      const fleet = new Map<string, number>();
      for (const [field, text] of all) {
        const match = COUNT_FIELD.exec(field);
        const n = Number(text);
        if (!match || match[1] === this.o.instance || !Number.isSafeInteger(n) || n < 0) continue;
        fleet.set(match[2], (fleet.get(match[2]) ?? 0) + n);
      }
      this.fleet = fleet;
    } catch {
      this.o.failed('read');
    }
  }

  private scheduleWrite(): void {
    if (this.writeTimer || this.unwritten.size === 0) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      void this.write();
    }, this.o.countMs);
    this.writeTimer.unref();
  }

  /** One HSET of this replica's totals that changed; nothing at all when none did. */
  async write(): Promise<void> {
    if (this.unwritten.size === 0 || !this.ready()) return;
    const ids = [...this.unwritten];
    this.unwritten.clear();
    const fields = ids.flatMap((id) => [`${this.o.instance}:${id}`, String(this.totals.get(id) ?? 0)]);
    try {
      await this.connected().send(['HSET', this.key('count'), ...fields]);
    } catch {
      for (const id of ids) this.unwritten.add(id);
      this.o.failed('write');
    }
  }

  /**
   * One script: still alive; and the member list again only when it changed (then a prune follows, and this
   * replica's totals of keys it no longer holds are dropped: the prune removes their fields once no replica does).
   */
  private async heartbeat(): Promise<void> {
    if (!this.ready()) return;
    const members = this.o.members();
    const signature = members.join(',');
    const ttl = this.o.heartbeatMs * MISSED_HEARTBEATS;
    const changed = signature !== this.membersSent;
    try {
      await this.connected().run(
        HEARTBEAT,
        [this.key('replicas'), this.key(`members:${this.o.instance}`)],
        [String(Date.now() + ttl), this.o.instance, String(ttl), changed ? '1' : '0', ...(changed ? members : [])],
      );
      const hadSent = this.membersSent !== undefined;
      this.membersSent = signature;
      if (changed) this.keepTotalsOf(members);
      if (changed && hadSent) await this.prune();
    } catch {
      this.o.failed('write');
    }
  }

  private keepTotalsOf(members: readonly string[]): void {
    const held = new Set(members);
    for (const id of this.totals.keys()) {
      if (held.has(id)) continue;
      this.totals.delete(id);
      this.unwritten.delete(id);
    }
  }

  /** Prunes now (the periodic timer and a change of members call it); returns how many fields it removed. */
  async prune(): Promise<number> {
    if (!this.ready() || this.membersSent === undefined) return 0;
    try {
      const removed = await this.connected().run(
        PRUNE,
        [this.key('replicas'), this.key('state'), this.key('count')],
        [String(Date.now()), this.key('members:')],
      );
      return Number(removed);
    } catch {
      this.o.failed('write');
      return 0;
    }
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    await this.write();
    if (!this.ready()) return;
    // Leaving: no longer alive; the next prune by another replica folds our counts in.
    await this.connected()
      .send(['ZREM', this.key('replicas'), this.o.instance])
      .catch(() => undefined);
  }
}
