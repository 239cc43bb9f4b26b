// The standalone server's keys file, reloads and start-up errors (issue 21,
// findings 2 and 7): a file is applied whole or not at all, keys added at
// runtime survive reloads, the watcher outlives its folder, and no start-up
// error prints a key found in a path.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Logger as PinoLogger } from 'pino';
import { modelscopeBalance, type Balancer } from '../../lib/index.js';
import { createConfig } from '../../example/config-schema.js';
import { loadSettings, SettingsError } from '../../example/load-settings.js';
import { createLogger } from '../../example/logger.js';
import { reloadKeys, watchKeysFile } from '../../example/reload.js';
import { KEYS, assertNoKeyIn, waitFor } from '../helpers.js';

const NEW_KEY = 'ms-44444444-aaaa-4bbb-8ccc-000000000004';

/** A pino logger (the server's own, scrubbing included) whose lines the test reads. */
function capturedLogger(secrets: string[] = []): { logger: PinoLogger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = createLogger('info', secrets, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function keysDir(): string {
  return mkdtempSync(join(tmpdir(), 'msb-keys-'));
}

/** `--config` naming an empty config file: keys come from the environment and the keys file only. */
function noConfig(): string[] {
  const path = join(keysDir(), 'config.json');
  writeFileSync(path, '{}');
  return ['--config', path];
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error('expected a SettingsError');
}

describe('the keys file (standalone server)', () => {
  let balancer: Balancer | undefined;
  afterEach(async () => {
    await balancer?.close();
    balancer = undefined;
  });

  describe('2. is used whole or not at all', () => {
    const blob = Buffer.alloc(2 * 1024 * 1024, 'QUJD').toString();
    const broken: Array<[string, string, number]> = [
      ['a JSON array on one line', JSON.stringify(KEYS), 1],
      ['its own base64', `${Buffer.from(KEYS.join('\n')).toString('base64')}\n`, 1],
      ['the first half of a key', `${KEYS[0]}\n${KEYS[1].slice(0, 20)}`, 2],
      ['KEY=value', `# keys\n\nMODELSCOPE_API_KEY=${KEYS[2]}\n`, 3],
      ['a 2 MiB blob', blob, 1],
      ['a key with a trailing comment', `${KEYS[0]} # alice\n`, 1],
    ];
    for (const [what, content, line] of broken) {
      it(`refuses ${what} with one warning naming line ${line}, and the pool stays`, async () => {
        const dir = keysDir();
        const file = join(dir, 'keys');
        writeFileSync(file, `${KEYS[0]}\n${KEYS[1]}\n`);
        const current = loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, noConfig());
        balancer = modelscopeBalance({ keys: current.api_keys, healthCheck: false });
        const { logger, lines } = capturedLogger(current.api_keys);
        writeFileSync(file, content);
        const after = await reloadKeys(balancer, current, logger, () =>
          loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, noConfig()),
        );
        expect(after).to.equal(current);
        expect(Object.keys(balancer.stats())).to.deep.equal(['ms-11…0001', 'ms-22…0002']);
        expect(lines).to.have.length(1);
        expect(lines[0].level).to.equal(40);
        expect(lines[0].msg).to.match(
          new RegExp(`^reload refused, the current keys stay: api_keys_file: line ${line} `),
        );
        expect(lines[0].msg.length).to.be.below(600);
        assertNoKeyIn(lines[0].msg);
        expect(lines[0].msg).not.to.include('MODELSCOPE_API_KEY=');
        expect(lines[0].msg).not.to.include('QUJD');
      });
    }

    it('stops start-up naming the line, never its text', () => {
      const file = join(keysDir(), 'keys');
      writeFileSync(file, `# team\n${KEYS[0]}\n\n${KEYS[1].slice(0, 30)}\n`);
      const message = messageOf(() => loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, noConfig()));
      expect(message).to.match(/^api_keys_file: line 4 is not a ModelScope token \(30 characters\)/);
      expect(message).to.include('the file was not used');
      assertNoKeyIn(message);
    });

    it("takes CRLF line ends, a byte-order mark, comments and blank lines; key_format 'any' relaxes the shape", () => {
      const file = join(keysDir(), 'keys');
      writeFileSync(file, `\ufeff${KEYS[0]}\r\n# c\r\n\r\n${KEYS[1]}\r\n`);
      const absent = noConfig();
      expect(loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, absent).api_keys).to.deep.equal([KEYS[0], KEYS[1]]);
      writeFileSync(file, 'sk-some-other-target-0001\n');
      expect(() => loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, absent)).to.throw(SettingsError, /line 1/);
      expect(loadSettings({ MODELSCOPE_API_KEYS_FILE: file, KEY_FORMAT: 'any' }, absent).api_keys).to.deep.equal([
        'sk-some-other-target-0001',
      ]);
    });

    it('refuses a bad MODELSCOPE_API_KEYS entry by its number, and more keys than max_keys', () => {
      const absent = noConfig();
      const message = messageOf(() => loadSettings({ MODELSCOPE_API_KEYS: `${KEYS[0]},data,${KEYS[1]}` }, absent));
      expect(message).to.match(/^api_keys: entry 2 is not a ModelScope token \(4 characters\)/);
      expect(messageOf(() => loadSettings({ MODELSCOPE_API_KEYS: KEYS.join(','), MAX_KEYS: '2' }, absent))).to.match(
        /^max_keys: is 2, and 3 keys were given/,
      );
    });
  });

  describe('7. keys added at runtime and the keys file', () => {
    function setUp(content: string) {
      const dir = keysDir();
      const file = join(dir, 'keys');
      writeFileSync(file, content);
      const load = () => loadSettings({ MODELSCOPE_API_KEYS_FILE: file }, noConfig());
      const current = load();
      balancer = modelscopeBalance({ keys: current.api_keys, healthCheck: false });
      return { file, load, current, ...capturedLogger(current.api_keys) };
    }

    it('a key added over the API survives a reload, also when the file did not change', async () => {
      const { file, load, current, logger } = setUp(`${KEYS[0]}\n${KEYS[1]}\n`);
      balancer!.addKey({ key: NEW_KEY, label: 'dave', weight: 2, account: 'team' });
      let settings = await reloadKeys(balancer!, current, logger, load);
      expect(Object.keys(balancer!.stats())).to.deep.equal(['ms-11…0001', 'ms-22…0002', 'dave']);
      expect(balancer!.stats().dave.weight).to.equal(2);
      writeFileSync(file, `${KEYS[1]}\n${KEYS[2]}\n`);
      settings = await reloadKeys(balancer!, settings, logger, load);
      expect(Object.keys(balancer!.stats())).to.deep.equal(['ms-22…0002', 'ms-33…0003', 'dave']);
      // Once the file lists it, it is the file's: removed from the file, it goes.
      writeFileSync(file, `${KEYS[1]}\n${NEW_KEY}\n`);
      settings = await reloadKeys(balancer!, settings, logger, load);
      expect(Object.keys(balancer!.stats())).to.deep.equal(['ms-22…0002', 'dave']);
      writeFileSync(file, `${KEYS[1]}\n`);
      await reloadKeys(balancer!, settings, logger, load);
      expect(Object.keys(balancer!.stats())).to.deep.equal(['ms-22…0002']);
    });

    it('a key the file lists comes back at the next reload after its removal over the API; a hold stays', async () => {
      const { load, current, logger } = setUp(`${KEYS[0]}\n${KEYS[1]}\n`);
      expect(balancer!.removeKey('ms-11…0001')).to.equal(true);
      expect(balancer!.disableKey('ms-22…0002')).to.equal(true);
      await reloadKeys(balancer!, current, logger, load);
      expect(Object.keys(balancer!.stats())).to.deep.equal(['ms-11…0001', 'ms-22…0002']);
      expect(balancer!.stats()['ms-22…0002'].state).to.equal('disabled');
    });
  });

  describe('7. the watcher', () => {
    it('follows a folder that is deleted and created again, and says when it is gone', async () => {
      const root = keysDir();
      const folder = join(root, 'secrets');
      mkdirSync(folder);
      writeFileSync(join(folder, 'keys'), `${KEYS[0]}\n`);
      let changes = 0;
      let lost = 0;
      const stop = watchKeysFile(join(folder, 'keys'), () => changes++, {
        debounceMs: 10,
        checkMs: 20,
        onLost: () => lost++,
      });
      try {
        writeFileSync(join(folder, 'keys'), `${KEYS[1]}\n`);
        await waitFor(() => changes === 1);
        rmSync(folder, { recursive: true });
        await waitFor(() => lost === 1);
        // Recreated by rename, as a remounted volume appears: the new folder is watched, and read at once.
        const staged = join(root, 'staged');
        mkdirSync(staged);
        writeFileSync(join(staged, 'keys'), `${KEYS[2]}\n`);
        renameSync(staged, folder);
        await waitFor(() => changes === 2);
        writeFileSync(join(folder, 'keys'), `${KEYS[0]}\n`);
        await waitFor(() => changes === 3);
      } finally {
        stop();
      }
    });
  });

  describe('7. start-up errors never print a key found in the config path', () => {
    const variants = (key: string) => [
      `/x/${key}.json`,
      `/x/${key}`,
      `/x/.${key}`,
      `/x/${key}.`,
      `/${key}/config.json`,
    ];
    for (const path of variants(KEYS[0])) {
      it(`MODELSCOPE_BALANCE_CONFIG=${path.replace(KEYS[0], '<key>')}`, () => {
        const message = messageOf(() => loadSettings({ MODELSCOPE_BALANCE_CONFIG: path }, []));
        expect(message).to.match(/^config: no file at the path given \(not shown/);
        assertNoKeyIn(message);
      });
    }

    it("hides a path holding part of a key given in the environment, whatever the key's shape", () => {
      const key = 'sk-NoDigitsHereAtAll';
      const message = messageOf(() =>
        loadSettings({ MODELSCOPE_BALANCE_CONFIG: `/x/${key}.json`, MODELSCOPE_API_KEYS: key, KEY_FORMAT: 'any' }, []),
      );
      assertNoKeyIn(message, [key]);
      expect(messageOf(() => loadSettings({ MODELSCOPE_BALANCE_CONFIG: '/etc/msb/config.json' }, []))).to.include(
        '/etc/msb/config.json',
      );
    });
  });

  describe('1. the server logger', () => {
    it('never eats ordinary text for a short secret (an admin token of one letter)', () => {
      const { logger, lines } = capturedLogger(['e', 'data']);
      logger.info({}, 'modelscope-balance listening on http://127.0.0.1:8080/');
      logger.info({}, 'data: received');
      expect(lines.map((line) => line.msg)).to.deep.equal([
        'modelscope-balance listening on http://127.0.0.1:8080/',
        'data: received',
      ]);
    });
  });

  it('the server settings know key_format and max_keys', () => {
    const config = createConfig({ KEY_FORMAT: 'any', MAX_KEYS: '10' }, []);
    expect([config.get('key_format'), config.get('max_keys')]).to.deep.equal(['any', 10]);
  });
});
