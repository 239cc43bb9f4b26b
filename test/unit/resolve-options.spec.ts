import { expect } from 'chai';
import { Registry } from 'prom-client';
import { BalanceConfigError, modelscopeBalance, type BalanceOptions } from '../../lib/index.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { KEYS, assertNoKeyIn } from '../helpers.js';

function errorOf(options: unknown): BalanceConfigError {
  try {
    resolveOptions(options);
  } catch (error) {
    expect(error).to.be.instanceOf(BalanceConfigError);
    return error as BalanceConfigError;
  }
  throw new Error('expected the options to be refused');
}

describe('options', () => {
  it('fills every default', () => {
    const config = resolveOptions({ keys: KEYS });
    expect(config.target.href).to.equal('https://api-inference.modelscope.cn/');
    expect(config.healthCheck).to.deep.equal({
      path: '/v1/models',
      intervalMs: 30_000,
      timeoutMs: 10_000,
      concurrency: 4,
    });
    expect(config.metrics).to.deep.equal({ path: '/metrics', prefix: 'modelscope_balance_' });
    expect(config.retry.attempts).to.equal(3);
    expect([...config.retry.on]).to.deep.equal([429, 500, 502, 503, 504]);
    expect(config.cooldown).to.deep.equal({ baseMs: 5_000, maxMs: 300_000 });
    expect(config.timeouts).to.deep.equal({
      connectMs: 10_000,
      firstByteMs: 120_000,
      idleMs: 120_000,
      totalMs: 180_000,
    });
    expect(config.retry.timeouts).to.equal('idempotent');
    expect(config.maxBufferedBytes).to.equal(256 * 1024 * 1024);
    expect(config.cors).to.equal(false);
    expect(config.failureThreshold).to.equal(3);
    expect(config.invalidKeyRetryMs).to.equal(1_800_000);
    expect(config.maxBodyBytes).to.equal(10 * 1024 * 1024);
    expect(config.queueTimeoutMs).to.equal(0);
    expect(config.strategy).to.equal('round-robin');
    expect(config.quota).to.deep.include({
      resetTimeZone: 'Asia/Shanghai',
      resetTime: '00:00',
      assumeExhaustedAfter: 3,
      exhaustedTrialMs: 1_800_000,
      balanceUrl: undefined,
      balanceIntervalMs: 600_000,
    });
    expect(config.registry).to.be.instanceOf(Registry);
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it("does not change the caller's options object", () => {
    const options = { keys: [...KEYS], retry: { attempts: 2 } };
    const copy = structuredClone(options);
    resolveOptions(options);
    expect(options).to.deep.equal(copy);
  });

  it('accepts healthCheck: false and metrics: false', () => {
    const config = resolveOptions({ keys: KEYS, healthCheck: false, metrics: false });
    expect(config.healthCheck).to.equal(false);
    expect(config.metrics).to.equal(false);
  });

  const refused: Array<[string, unknown, string, RegExp]> = [
    ['no options', undefined, 'options', /must be an object/],
    ['no keys', {}, 'keys', /non-empty array/],
    ['an empty key list', { keys: [] }, 'keys', /non-empty array/],
    ['an empty key', { keys: [KEYS[0], ''] }, 'keys[1]', /non-empty string/],
    ['a non-string key', { keys: [42] }, 'keys[0]', /string or \{ key/],
    ['a duplicate key', { keys: [KEYS[0], KEYS[1], KEYS[0]] }, 'keys[2]', /repeats keys\[0\]/],
    ['a key with spaces', { keys: [' ms-abc '] }, 'keys[0]', /white space/],
    ['a target that is not a URL', { keys: KEYS, target: 'api-inference' }, 'target', /http\(s\) URL/],
    ['an ftp target', { keys: KEYS, target: 'ftp://example.com' }, 'target', /http\(s\) URL/],
    [
      'a target with credentials',
      { keys: KEYS, target: `https://user:${KEYS[0]}@api.example` },
      'target',
      /must not carry credentials/,
    ],
    [
      'a zero interval',
      { keys: KEYS, healthCheck: { intervalMs: 0 } },
      'healthCheck.intervalMs',
      /positive whole number/,
    ],
    [
      'a negative timeout',
      { keys: KEYS, healthCheck: { timeoutMs: -5 } },
      'healthCheck.timeoutMs',
      /positive whole number/,
    ],
    [
      'a string timeout',
      { keys: KEYS, timeouts: { idleMs: '100' } },
      'timeouts.idleMs',
      /positive whole number, got a string/,
    ],
    [
      'a health path without /',
      { keys: KEYS, healthCheck: { path: 'v1/models' } },
      'healthCheck.path',
      /starting with '\/'/,
    ],
    ['an unknown strategy', { keys: KEYS, strategy: 'random' }, 'strategy', /one of 'round-robin'/],
    ['retry.on outside 400-599', { keys: KEYS, retry: { on: [200] } }, 'retry.on', /from 400 to 599/],
    ['cooldown.maxMs under baseMs', { keys: KEYS, cooldown: { baseMs: 10, maxMs: 5 } }, 'cooldown.maxMs', /at least/],
    ['a bad time zone', { keys: KEYS, quota: { resetTimeZone: 'Mars/Base' } }, 'quota.resetTimeZone', /IANA time zone/],
    ['a bad reset time', { keys: KEYS, quota: { resetTime: '24:00' } }, 'quota.resetTime', /HH:MM/],
    [
      'no 429s before inferring exhaustion',
      { keys: KEYS, quota: { assumeExhaustedAfter: 0 } },
      'quota.assumeExhaustedAfter',
      /positive whole number/,
    ],
    [
      'a fractional trial period',
      { keys: KEYS, quota: { exhaustedTrialMs: 1.5 } },
      'quota.exhaustedTrialMs',
      /positive whole number/,
    ],
    [
      'a balance URL that is not one',
      { keys: KEYS, quota: { balanceUrl: 'balance' } },
      'quota.balanceUrl',
      /http\(s\)/,
    ],
    [
      'a balance URL of another scheme',
      { keys: KEYS, quota: { balanceUrl: 'ftp://modelscope.cn/balance' } },
      'quota.balanceUrl',
      /http\(s\) URL such as 'https:\/\/modelscope.cn\/openapi\/v1\/magicubes\/balance'/,
    ],
    [
      'a balance URL with credentials',
      { keys: KEYS, quota: { balanceUrl: 'https://me:secret@modelscope.cn/balance' } },
      'quota.balanceUrl',
      /credentials/,
    ],
    [
      'a balance URL holding a key',
      { keys: KEYS, quota: { balanceUrl: `https://modelscope.cn/balance?token=${KEYS[1]}` } },
      'quota.balanceUrl',
      /must not contain a key/,
    ],
    ['a logger without methods', { keys: KEYS, logger: {} }, 'logger', /debug, info, warn and error/],
    ['a registry that is not one', { keys: KEYS, registry: {} }, 'registry', /prom-client Registry/],
    [
      'a label holding part of a key',
      { keys: [{ key: KEYS[0], label: KEYS[0].slice(0, 14) }] },
      'keys[0].label',
      /part of a key/,
    ],
    [
      'an account name holding a key',
      { keys: [{ key: KEYS[0], account: KEYS[0] }] },
      'keys[0].account',
      /part of a key/,
    ],
    ['a zero weight', { keys: [{ key: KEYS[0], weight: 0 }] }, 'keys[0].weight', /whole number from 1 to 1000000/],
    ['empty access tokens', { keys: KEYS, accessTokens: [''] }, 'accessTokens', /non-empty strings/],
  ];
  for (const [what, options, option, message] of refused) {
    it(`refuses ${what}, naming \`${option}\``, () => {
      const error = errorOf(options);
      expect(error.option).to.equal(option);
      expect(error.message).to.match(message);
      expect(error.code).to.match(/^ERR_MSB_/);
    });
  }

  it('suggests the option meant by a typo', () => {
    const error = errorOf({ keys: KEYS, healthCheck: { intervalMS: 5 } });
    expect(error.code).to.equal('ERR_MSB_UNKNOWN_OPTION');
    expect(error.message).to.include('Did you mean `healthCheck.intervalMs`?');
    expect(errorOf({ keys: KEYS, stratgy: 'weighted' }).message).to.include('Did you mean `strategy`?');
    expect(errorOf({ keys: KEYS, zzzzzzzzzzzz: 1 }).message).not.to.include('Did you mean');
  });

  it('never puts a key into an error message', () => {
    const messages = [
      errorOf({ keys: [KEYS[0], KEYS[0]] }).message,
      errorOf({ keys: [{ key: KEYS[0], label: KEYS[0] }] }).message,
      errorOf({ keys: [KEYS[0], { key: KEYS[1], wieght: 2 }] }).message,
      errorOf({ keys: KEYS, quota: { balanceUrl: `https://modelscope.cn/balance?token=${KEYS[1]}` } }).message,
      errorOf({ keys: KEYS, quota: { balanceUrl: `ftp://${KEYS[2]}` } }).message,
    ];
    assertNoKeyIn(messages.join('\n'));
  });

  it('throws from modelscopeBalance() itself, at construction', () => {
    expect(() => modelscopeBalance({ keys: [] } as BalanceOptions)).to.throw(BalanceConfigError, /keys/);
  });
});
