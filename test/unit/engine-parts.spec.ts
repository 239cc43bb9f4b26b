import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { Emitter } from '../../lib/engine/events.js';
import { leaseKey } from '../../lib/engine/key-lease.js';
import { KeyPool } from '../../lib/pool/pool.js';
import type { ResolvedKey } from '../../lib/options/resolve-keys.js';
import { watchStoreStatus } from '../../lib/store/replication.js';
import { MemoryStore } from '../../lib/store/store.js';
import { manualClock, testKey, unitPoolSettings } from '../helpers.js';

const LIB = new URL('../../lib/', import.meta.url).pathname;

/** Every .ts file under lib/, relative to it. */
function libFiles(dir = LIB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? libFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [relative(LIB, join(dir, entry.name))]
        : [],
  );
}

function poolOf(keys: number): KeyPool {
  const specs: ResolvedKey[] = Array.from({ length: keys }, (_, n) => ({
    key: testKey(n),
    label: `k${n}`,
    weight: 1,
    account: `key:k${n}`,
    ownAccount: true,
  }));
  return new KeyPool(specs, unitPoolSettings(manualClock().now), { transition() {}, exhausted() {}, throttled() {} });
}

describe('the engine’s parts', () => {
  it('nothing outside lib/express and lib/balancer.ts imports Express: the engine has no Express in it', () => {
    const files = libFiles();
    expect(files.filter((file) => file.startsWith('engine/'))).to.have.length.greaterThan(10);
    const importing = files.filter((file) =>
      /from '(express|cors)'|import\('express'\)/.test(readFileSync(join(LIB, file), 'utf8')),
    );
    expect(importing.filter((file) => !file.startsWith('express/') && file !== 'balancer.ts')).to.deep.equal([]);
  });

  it('one place starts and ends a key’s request: the lease', () => {
    const starting = libFiles().filter((file) => /\bpool\.(begin|end)\(/.test(readFileSync(join(LIB, file), 'utf8')));
    expect(starting).to.deep.equal(['engine/key-lease.ts']);
  });

  it('a lease counts its key in flight from the start and releases it once, however often it is released', () => {
    const pool = poolOf(1);
    const [entry] = pool.entries;
    const lease = leaseKey(pool, entry);
    const other = leaseKey(pool, entry);
    expect(entry.state.inFlight).to.equal(2);
    lease.release();
    lease.release();
    expect(entry.state.inFlight).to.equal(1);
    other.release();
    expect(entry.state.inFlight).to.equal(0);
  });

  it('a trial lease frees the trial once, and only its own release does', () => {
    const pool = poolOf(1);
    const [entry] = pool.entries;
    pool.refused(entry, { status: 401, reason: 'refused', at: 0 });
    entry.state.until = 0;
    const trial = leaseKey(pool, entry);
    expect([trial.trial, entry.state.trialInFlight]).to.deep.equal([true, true]);
    trial.release();
    trial.release();
    expect([entry.state.trialInFlight, entry.state.inFlight]).to.deep.equal([false, 0]);
  });

  describe('the emitter', () => {
    it('calls listeners in order, drops them with off(), and says whether anyone listens', () => {
      const emitter = new Emitter<{ tick: number }>();
      const seen: string[] = [];
      const first = (n: number) => seen.push(`first ${n}`);
      expect(emitter.listening('tick')).to.equal(false);
      emitter.on('tick', first);
      emitter.on('tick', (n) => seen.push(`second ${n}`));
      expect(emitter.listening('tick')).to.equal(true);
      emitter.emit('tick', 1);
      emitter.off('tick', first);
      emitter.emit('tick', 2);
      expect(seen).to.deep.equal(['first 1', 'second 1', 'second 2']);
    });

    it('reports a listener that throws and still calls the others', () => {
      const errors: unknown[] = [];
      const emitter = new Emitter<{ tick: number }>((error) => errors.push(error));
      let after = 0;
      emitter.on('tick', () => {
        throw new Error('listener bug');
      });
      emitter.on('tick', () => after++);
      emitter.emit('tick', 1);
      expect([errors.length, after]).to.deep.equal([1, 1]);
    });
  });

  describe('the store’s reachability', () => {
    let clock: Clock;
    beforeEach(() => {
      clock = install({ toFake: ['setInterval', 'clearInterval'] });
    });
    afterEach(() => clock.uninstall());

    it('is told when a shared store goes down and comes back, once each; a local one is never read', () => {
      let status: 'ok' | 'degraded' = 'ok';
      const store = Object.assign(new MemoryStore(), { status: () => status }) as unknown as MemoryStore;
      const changes: string[] = [];
      const stop = watchStoreStatus(store, (now) => changes.push(now));
      clock.tick(3000);
      status = 'degraded';
      clock.tick(1000);
      clock.tick(5000);
      status = 'ok';
      clock.tick(1000);
      stop();
      status = 'degraded';
      clock.tick(5000);
      expect(changes).to.deep.equal(['degraded', 'ok']);
      let reads = 0;
      const countedStatus = () => {
        reads++;
        return 'local' as const;
      };
      const local = Object.assign(new MemoryStore(), { status: countedStatus });
      watchStoreStatus(local, () => {})();
      clock.tick(5000);
      expect(reads).to.equal(1);
    });
  });
});
