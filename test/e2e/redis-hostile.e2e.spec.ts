import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { Redis } from 'ioredis';
import { modelscopeBalance, type Balancer } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { MAX_MESSAGE_BYTES } from '../../lib/store/redis-store.js';
import { fingerprint } from '../../lib/store/store.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { REDIS_CLIENT_WAYS } from '../fixtures/redis-clients.js';
import { startRedis, type RedisProcess } from '../fixtures/redis-server.js';
import { KEYS, chat, listen, request, waitFor } from '../helpers.js';

interface Replica {
  balancer: Balancer;
  url: string;
  server: http.Server;
}

const IDS = KEYS.map((key) => fingerprint(key));
const HTML = '<img src=x onerror=alert(1)>';

/** What an attacker, a script or another version might put into Redis. */
function poisons(now: number): object[] {
  const base = { v: 1, at: now, lastError: null };
  return [
    { ...base, kind: 'key', id: IDS[0], status: 'cooling', until: 1e300 },
    { ...base, kind: 'key', id: IDS[1], status: 'cooling', until: now + 60_000, at: 'soon' },
    { ...base, kind: 'key', id: IDS[2], status: `"><script>alert(1)</script>`, until: 0 },
    {
      v: 1,
      kind: 'quota',
      id: IDS[0],
      at: now,
      overall: { limit: 1, remaining: 0, seenAt: now, staleAt: 1e300 },
      models: [],
      exhaustion: null,
      strikes: null,
      balance: null,
    },
    { ...base, v: 2, kind: 'key', id: IDS[1], status: 'invalid', until: now + 60_000 },
    { ...base, kind: 'key', id: IDS[1], status: 'invalid', until: now + 60_000, extra: 'a newer shape' },
  ];
}

for (const way of REDIS_CLIENT_WAYS)
  describe(`values in Redis are checked, never trusted (real redis-server, ${way.name})`, function () {
    this.timeout(30_000);
    let redis: RedisProcess;
    let fake: FakeModelScope;
    let admin: Redis;
    const replicas: Replica[] = [];

    async function replica(keys: string[] = KEYS): Promise<Replica> {
      const balancer = modelscopeBalance({
        keys,
        target: fake.url,
        healthCheck: false,
        store: new RedisStore({ ...way.storeOptions(redis.url), prefix: 'h:', flushMs: 50, countMs: 200 }),
      });
      const server = await listen(express().use(balancer));
      const r = { balancer, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
      replicas.push(r);
      await waitFor(async () => JSON.parse((await request(`${r.url}/health`)).body).store === 'ok', 3_000);
      return r;
    }
    const rejected = async (r: Replica) => {
      const text = (await request(`${r.url}/metrics`)).body;
      const counts: Record<string, number> = {};
      for (const [, reason, n] of text.matchAll(/store_rejected_total\{reason="(\w+)"\} (\d+)/g)) counts[reason] = +n;
      return counts;
    };
    const states = (r: Replica) => Object.values(r.balancer.stats()).map((s) => s.state);

    beforeEach(async () => {
      redis = await startRedis();
      fake = await startFakeModelScope();
      admin = new Redis(redis.url);
      admin.on('error', () => undefined); // Redis is killed on purpose
    });
    afterEach(async () => {
      for (const { server, balancer } of replicas.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await balancer.close();
      }
      await way.closeAll();
      admin.disconnect();
      await fake.close();
      await redis.stop();
    });

    it('drops and counts poisons sent by PUBLISH, never applies nor writes them back after a restart', async () => {
      const a = await replica();
      const now = Date.now();
      const updates = [
        ...poisons(now),
        // Well-formed, with HTML in a string: applied, and escaped wherever it is shown.
        {
          v: 1,
          kind: 'key',
          id: IDS[2],
          at: now,
          status: 'unhealthy',
          until: now + 60_000,
          lastError: { status: 500, reason: HTML, at: now },
        },
      ];
      await admin.publish('h:events', JSON.stringify({ from: 'someone', updates }));
      await admin.publish('h:events', 'not json');
      await waitFor(async () => Object.keys(await rejected(a)).length >= 4, 2_000);
      expect(await rejected(a)).to.deep.equal({ time: 2, shape: 3, version: 1, malformed: 1 });
      expect(states(a)).to.deep.equal(['healthy', 'healthy', 'unhealthy']);
      // Every answer still works: no RangeError, no 500.
      expect((await chat(a.url)).status).to.equal(200);
      expect((await request(`${a.url}/stats`)).status).to.equal(200);
      const page = await request(`${a.url}/status`);
      expect(page.status).to.equal(200);
      expect(page.body).not.to.include(HTML).and.not.to.include('<script>');
      expect((await request(`${a.url}/status/data`)).status).to.equal(200);
      // Redis restarts empty: the honest replica republishes its own view, and none of the poison.
      await redis.kill();
      await redis.restart();
      await waitFor(async () => JSON.parse((await request(`${a.url}/health`)).body).store === 'ok', 8_000);
      await waitFor(async () => (await admin.hlen('h:state')) > 0, 3_000);
      const stored = Object.values(await admin.hgetall('h:state')).join('\n');
      expect(stored).not.to.match(/1e\+300|soon|script|extra/);
      // A replica started later loads nothing of it either.
      const late = await replica();
      expect(states(late)).to.deep.equal(['healthy', 'healthy', 'unhealthy']);
    });

    it('drops poisons written straight into the state hash when a replica loads it', async () => {
      const now = Date.now();
      const fields = poisons(now).flatMap((value, i) => [`key:${IDS[i % 3]}${'x'.repeat(i)}`, JSON.stringify(value)]);
      await admin.hset('h:state', ...fields, `key:${IDS[0]}`, '{"v":1,', 'quota:huge', 'x'.repeat(200_000));
      const a = await replica();
      expect(states(a)).to.deep.equal(['healthy', 'healthy', 'healthy']);
      expect(await rejected(a)).to.deep.equal({ time: 1, shape: 3, version: 1, malformed: 1, oversized: 1 });
      expect((await request(`${a.url}/stats`)).status).to.equal(200);
      expect((await chat(a.url)).status).to.equal(200);
    });

    it('splits a large batch into messages of at most 128 KiB, which the other replicas apply whole', async () => {
      const many = Array.from({ length: 3_000 }, () => `ms-${randomUUID()}`);
      const [a, b] = [await replica(many), await replica(many)];
      const listener = admin.duplicate();
      const sizes: number[] = [];
      listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => sizes.push(message.length));
      await listener.subscribe('h:events');
      for (const label of Object.keys(a.balancer.stats())) a.balancer.disableKey(label);
      const disabled = () => Object.values(b.balancer.stats()).filter((s) => s.state === 'disabled').length;
      await waitFor(() => disabled() === many.length, 5_000);
      listener.disconnect();
      expect(sizes.length).to.be.greaterThan(1);
      expect(Math.max(...sizes)).to.be.at.most(MAX_MESSAGE_BYTES);
    });

    it('drops a 20 MB message by its size, without parsing it or stalling the event loop', async () => {
      const a = await replica();
      const huge = JSON.stringify({
        from: 'someone',
        updates: Array.from({ length: 200_000 }, () => ({
          v: 1,
          kind: 'hold',
          id: IDS[0],
          at: Date.now(),
          held: true,
        })),
      });
      expect(huge.length).to.be.greaterThan(15_000_000);
      let longestGap = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        longestGap = Math.max(longestGap, performance.now() - last);
        last = performance.now();
      }, 5);
      await admin.publish('h:events', huge);
      await waitFor(async () => (await rejected(a)).oversized === 1, 5_000);
      clearInterval(ticker);
      expect(states(a)[0]).to.equal('healthy');
      // Generous for a shared machine; parsing and applying it took about a second.
      expect(longestGap).to.be.below(400);
    });
  });
