// Everything a store's updates carry is exported by name, so a store written in TypeScript can type what it
// reads and writes. (typecheck fails if a name is missing; the test checks a value built from them is accepted.)
import { expect } from 'chai';
import type {
  BalanceFigures,
  Exhaustion,
  KeyStatus,
  LastError,
  MemoryStoreOptions,
  QuotaFigures,
  SharedHoldUpdate,
  SharedKeyUpdate,
  SharedQuotaUpdate,
  SharedUpdate,
  Store,
  StoreHandlers,
  StoreRejectReason,
  StoreStatus,
  Strikes,
} from '../../lib/index.js';
import type {
  IoRedisClient,
  NodeRedisClient,
  RedisClient,
  RedisClientKind,
  RedisStoreOptions,
} from '../../lib/redis.js';
import { readUpdate } from '../../lib/store/shared-update.js';

describe('the types of a store’s updates', () => {
  it('are exported, and describe exactly what the balancer accepts from a store', () => {
    const now = Date.now();
    const id = 'a'.repeat(32);
    const lastError: LastError = { status: 429, reason: 'rate limited', at: now };
    const status: KeyStatus = 'cooling';
    const figures: QuotaFigures = { limit: 100, remaining: 3, seenAt: now, staleAt: now + 60_000 };
    const exhaustion: Exhaustion = { source: 'answer', since: now, until: now + 60_000, nextTrialAt: now + 1_000 };
    const strikes: Strikes = { count: 1, nextAt: now, until: now + 60_000 };
    const balance: BalanceFigures = { available: 1, total: 2, frozen: 0, seenAt: now, ignoredUntil: 0 };
    const key: SharedKeyUpdate = { v: 1, kind: 'key', id, at: now, status, until: now + 5_000, lastError };
    const hold: SharedHoldUpdate = { v: 1, kind: 'hold', id, at: now, held: true };
    const quota: SharedQuotaUpdate = {
      v: 1,
      kind: 'quota',
      id,
      at: now,
      overall: figures,
      models: [['Qwen/Qwen3-32B', figures]],
      exhaustion,
      strikes,
      balance,
    };
    const updates: SharedUpdate[] = [key, hold, quota];
    for (const update of updates) expect(readUpdate(JSON.parse(JSON.stringify(update)), now)).to.deep.equal({ update });

    const reason: StoreRejectReason = 'shape';
    const states: StoreStatus[] = ['ok', 'degraded', 'local'];
    const handlers: StoreHandlers = { apply() {}, rejected() {}, snapshot: () => updates, members: () => [id] };
    const store: Store = { publish() {} };
    const clock: MemoryStoreOptions = { now: Date.now };
    const redis: Partial<RedisStoreOptions> = { prefix: 'msb:' };
    const clients: Array<RedisClient | IoRedisClient | NodeRedisClient | RedisClientKind> = [];
    expect([reason, states, handlers, store, clock, redis, clients]).to.have.length(7);
  });
});
