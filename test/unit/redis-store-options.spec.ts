import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { BalanceConfigError } from '../../lib/index.js';
import { RedisStore } from '../../lib/redis.js';
import { REDIS_STORE_DEFAULTS } from '../../lib/store/redis-store-options.js';

function refusal(options: unknown): BalanceConfigError {
  try {
    new RedisStore(options as ConstructorParameters<typeof RedisStore>[0]);
  } catch (error) {
    return error as BalanceConfigError;
  }
  throw new Error('accepted');
}

describe('RedisStore options', () => {
  it('opens no connection and starts no timer before `init` (the balancer calls it)', () => {
    const before = process.getActiveResourcesInfo().sort();
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', prefix: 'x:' });
    expect(process.getActiveResourcesInfo().sort()).to.deep.equal(before);
    expect(store.status()).to.equal('degraded');
    expect(store.client).to.equal(undefined);
    expect(store.prefix).to.equal('x:');
  });

  it('refuses wrong options with a coded error naming RedisStore.<option>, never echoing a URL', () => {
    const secret = 'redis-password-000000001';
    const badUrl = refusal({ url: `http://:${secret}@127.0.0.1:6379` });
    expect(badUrl).to.include({ code: 'ERR_MSB_INVALID_OPTION', option: 'RedisStore.url' });
    expect(badUrl.message).to.include('redis:// or rediss://').and.not.include(secret);
    expect(refusal({ url: 'redis://127.0.0.1', client: {} }).message).to.include('were both given');
    expect(refusal({ client: { get() {} } })).to.include({ option: 'RedisStore.client' });
    expect(refusal({ client: { get() {} } }).message)
      .to.include('an ioredis client')
      .and.include('node-redis');
    expect(refusal({ prefix: '' })).to.include({ option: 'RedisStore.prefix' });
    expect(refusal({ flushMs: 0 })).to.include({ option: 'RedisStore.flushMs' });
    expect(refusal({ logger: console.log })).to.include({ option: 'RedisStore.logger' });
    const typo = refusal({ prefx: 'a:' });
    expect(typo).to.include({ code: 'ERR_MSB_UNKNOWN_OPTION', option: 'RedisStore.prefx' });
    expect(typo.message).to.include('Did you mean `RedisStore.prefix`?');
  });
});

describe("the README's RedisStore table", () => {
  const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const table = README.slice(README.indexOf('| `RedisStore` option |'));
  for (const [option, value] of Object.entries(REDIS_STORE_DEFAULTS)) {
    it(`says the default of ${option}`, () => {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${option}\` |`));
      expect(row, `a row for ${option}`).to.be.a('string');
      expect(row?.split('|')[2].trim()).to.equal(`\`${value}\``);
    });
  }
});
