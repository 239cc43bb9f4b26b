import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createConfig } from '../../example/config-schema.js';
import { balancerOptions, loadSettings, SettingsError } from '../../example/load-settings.js';
import { KEYS, assertNoKeyIn } from '../helpers.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected the settings to be refused');
}

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'msb-settings-')), 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('server settings', () => {
  it('accepts the original config.json as it is, port as a string', () => {
    const settings = loadSettings({}, [
      '--config',
      file({
        api_keys: KEYS,
        server_port: '8080',
        target_url: 'https://api-inference.modelscope.cn',
        health_check: true,
        health_path: '/v1/models',
      }),
    ]);
    expect(settings).to.deep.include({
      api_keys: KEYS,
      server_port: 8080,
      health_check: true,
      health_path: '/v1/models',
    });
  });

  it('lets the environment override the file, and the command line override both', () => {
    const path = file({ api_keys: [KEYS[0]], server_port: 1000, strategy: 'weighted' });
    const settings = loadSettings({ PORT: '2000', MODELSCOPE_API_KEYS: ` ${KEYS[1]} ,, ${KEYS[2]} ` }, [
      '--config',
      path,
      '--port',
      '3000',
    ]);
    expect(settings.server_port).to.equal(3000);
    expect(settings.api_keys).to.deep.equal([KEYS[1], KEYS[2]]);
    expect(settings.strategy).to.equal('weighted');
  });

  it('finds the config file through MODELSCOPE_BALANCE_CONFIG, or ./config.json by default', () => {
    const viaEnv = loadSettings({ MODELSCOPE_BALANCE_CONFIG: file({ api_keys: [KEYS[2]], server_port: 4000 }) }, []);
    expect(viaEnv).to.deep.include({ api_keys: [KEYS[2]], server_port: 4000 });
    const dir = mkdtempSync(join(tmpdir(), 'msb-cwd-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ api_keys: [KEYS[1]], server_port: '5000' }));
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(loadSettings({}, [])).to.deep.include({ api_keys: [KEYS[1]], server_port: 5000 });
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses a config file named explicitly that does not exist', () => {
    expect(() => loadSettings({}, ['--config', '/nonexistent/config.json'])).to.throw(SettingsError, /no file at/);
  });

  it('adds keys from a keys file, skipping blank lines and comments', () => {
    const keysFile = file(`# team keys\n${KEYS[0]}\n\n  ${KEYS[1]}  \n`);
    const settings = loadSettings({ MODELSCOPE_API_KEYS_FILE: keysFile }, ['--config', file({})]);
    expect(settings.api_keys).to.deep.equal([KEYS[0], KEYS[1]]);
  });

  const refused: Array<[string, NodeJS.ProcessEnv, unknown, string]> = [
    ['a missing keys file', { MODELSCOPE_API_KEYS_FILE: '/nonexistent/keys' }, {}, 'api_keys_file'],
    [
      'headers timeout above request timeout',
      { MODELSCOPE_API_KEYS: KEYS[0], HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' },
      {},
      'headers_timeout_ms',
    ],
    ['a mount path without /', { MODELSCOPE_API_KEYS: KEYS[0], MOUNT_PATH: 'ms' }, {}, 'mount_path'],
    ['a zero retry count', { MODELSCOPE_API_KEYS: KEYS[0], RETRY_ATTEMPTS: '0' }, {}, 'retry_attempts'],
  ];
  for (const [what, env, content, setting] of refused) {
    it(`refuses ${what}, naming ${setting}`, () => {
      try {
        loadSettings(env, ['--config', file(content)]);
        expect.fail('expected a SettingsError');
      } catch (error) {
        expect(error).to.be.instanceOf(SettingsError);
        expect((error as SettingsError).setting).to.equal(setting);
      }
    });
  }

  it('never prints tokens when the configuration is printed', () => {
    const config = createConfig({ MODELSCOPE_API_KEYS: KEYS.join(','), BALANCE_ADMIN_TOKEN: 'admin-secret-xyz' }, []);
    const printed = config.toString();
    for (const key of KEYS) expect(printed).not.to.include(key);
    expect(printed).not.to.include('admin-secret-xyz');
  });

  it('maps settings to balancer options', () => {
    const settings = loadSettings(
      { MODELSCOPE_API_KEYS: KEYS.join(','), HEALTH_CHECK: 'false', METRICS: 'no', BALANCE_ADMIN_TOKEN: 'a' },
      ['--config', file({})],
    );
    const options = balancerOptions(settings);
    expect(options).to.deep.include({
      keys: KEYS,
      healthCheck: false,
      metrics: false,
      adminToken: 'a',
      maxBodyBytes: 10 * 1024 * 1024,
    });
    expect(options.timeouts).to.deep.equal({
      connectMs: 10_000,
      firstByteMs: 120_000,
      idleMs: 120_000,
      totalMs: 180_000,
    });
    expect(options.retry).to.deep.equal({ attempts: 3, timeouts: 'idempotent' });
    expect(options.maxBufferedBytes).to.equal(256 * 1024 * 1024);
    expect(options.cors).to.equal(false);
  });

  describe('never prints a key in a start-up error', () => {
    it('when a key is pasted as MODELSCOPE_API_KEYS_FILE', () => {
      const message = messageOf(() => loadSettings({ MODELSCOPE_API_KEYS_FILE: KEYS[0] }, ['--config', file({})]));
      expect(message).to.match(/^api_keys_file: cannot read the path given \(not shown: it looks like a token/);
      assertNoKeyIn(message);
    });

    it('when a key is pasted as --config', () => {
      const message = messageOf(() => loadSettings({}, ['--config', KEYS[1]]));
      expect(message).to.match(/^config: no file at the path given/);
      assertNoKeyIn(message);
    });

    it('when the config file is not JSON and holds a key', () => {
      const message = messageOf(() => loadSettings({}, ['--config', file(`{"api_keys": [${KEYS[2]}]}`)]));
      expect(message).to.match(/is not valid JSON/);
      assertNoKeyIn(message);
    });
  });

  it('maps cors_origins, retry_timeouts, total_timeout_ms and max_buffered_bytes', () => {
    const settings = loadSettings(
      {
        MODELSCOPE_API_KEYS: KEYS[0],
        CORS_ORIGINS: 'https://a.example, https://b.example',
        RETRY_TIMEOUTS: 'always',
        TOTAL_TIMEOUT_MS: '5000',
        MAX_BUFFERED_BYTES: '1000000',
      },
      ['--config', file({})],
    );
    const options = balancerOptions(settings);
    expect(options.cors).to.deep.equal({ origins: ['https://a.example', 'https://b.example'] });
    expect(options.retry).to.deep.equal({ attempts: 3, timeouts: 'always' });
    expect(options.timeouts?.totalMs).to.equal(5000);
    expect(options.maxBufferedBytes).to.equal(1_000_000);
    expect(
      balancerOptions(loadSettings({ MODELSCOPE_API_KEYS: KEYS[0], CORS_ORIGINS: '*' }, ['--config', file({})])).cors,
    ).to.deep.equal({ origins: '*' });
  });

  it('maps the quota settings without counters, the balance probe only when a URL is given', () => {
    const env = { MODELSCOPE_API_KEYS: KEYS[0], QUOTA_ASSUME_EXHAUSTED_AFTER: '5', QUOTA_EXHAUSTED_TRIAL_MS: '600000' };
    const plain = balancerOptions(loadSettings(env, ['--config', file({})]));
    expect(plain.quota).to.deep.include({
      assumeExhaustedAfter: 5,
      exhaustedTrialMs: 600_000,
      balanceIntervalMs: 600_000,
    });
    expect(plain.quota).not.to.have.property('balanceUrl');
    const probed = balancerOptions(
      loadSettings({ ...env, QUOTA_BALANCE_URL: 'https://modelscope.cn/openapi/v1/magicubes/balance' }, [
        '--config',
        file({ quota_balance_interval_ms: 900_000 }),
      ]),
    );
    expect(probed.quota).to.deep.include({
      balanceUrl: 'https://modelscope.cn/openapi/v1/magicubes/balance',
      balanceIntervalMs: 900_000,
    });
    expect(
      messageOf(() => loadSettings({ ...env, QUOTA_ASSUME_EXHAUSTED_AFTER: '0' }, ['--config', file({})])),
    ).to.match(/quota_assume_exhausted_after: must be a positive whole number/);
  });
});
