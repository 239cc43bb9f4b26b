import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { reloadClients } from '../../example/clients-file.js';
import { startServer } from '../../example/create-server.js';
import { loadSettings, SettingsError } from '../../example/load-settings.js';
import { createLogger } from '../../example/logger.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { settingsFor } from '../fixtures/example-settings.js';
import { KEYS, chat, request } from '../helpers.js';

const RESEARCH = 'research-token-0123456789abcdef';
const CI = 'ci-token-0123456789abcdef';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A pino logger whose lines are kept, as the server logs them. */
function capturedLogger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('info', [], sink as never), text: () => lines.join('') };
}

describe('the standalone server: clients file and state file', function () {
  this.timeout(15_000);
  let fake: FakeModelScope;
  let dir: string;
  beforeEach(async () => {
    fake = await startFakeModelScope();
    dir = mkdtempSync(join(tmpdir(), 'msb-clients-'));
  });
  afterEach(async () => fake.close());

  it('refuses to start with a bad clients file, naming the line and field, never the token', () => {
    const path = join(dir, 'clients.json');
    writeFileSync(
      path,
      `[\n  { "name": "research", "token": "${RESEARCH}" },\n  { "name": "ci",\n    "token": "short" }\n]`,
    );
    const env = { MODELSCOPE_API_KEYS: KEYS.join(','), BALANCE_CLIENTS_FILE: path };
    let error: unknown;
    try {
      loadSettings(env, []);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(SettingsError);
    expect((error as Error).message).to.match(/^clients_file: clients file .*, line 3: `clients\[1\]\.token` must be/);
    expect((error as Error).message).not.to.include(RESEARCH.slice(0, 12));
    writeFileSync(path, `[{ "name": "research", "token": "${RESEARCH}", "dailyRequests": 3 }]`);
    expect(loadSettings(env, []).clients).to.deep.equal([{ name: 'research', token: RESEARCH, dailyRequests: 3 }]);
  });

  it('applies a changed clients file whole, and refuses a broken one whole (the clients in force stay)', async () => {
    const path = join(dir, 'clients.json');
    writeFileSync(path, JSON.stringify([{ name: 'research', token: RESEARCH }]));
    const settings = settingsFor(fake, { clients_file: path, state_file: '' });
    const { logger, text } = capturedLogger();
    const running = await startServer({ ...loadSettingsLike(settings, path) }, logger);
    const base = `http://127.0.0.1:${running.port}`;
    try {
      expect((await chat(base, undefined, bearer(RESEARCH))).status).to.equal(200);
      writeFileSync(
        path,
        JSON.stringify([
          { name: 'ci', token: CI },
          { name: 'bad', token: CI, maxInFlight: -1 },
        ]),
      );
      expect(reloadClients(running.balancer, path, logger)).to.equal(false);
      expect(text()).to.include('clients reload refused, the current clients stay');
      expect(text()).to.include('line 1').and.include('clients[1]').and.not.include(CI.slice(0, 12));
      expect((await chat(base, undefined, bearer(RESEARCH))).status).to.equal(200);
      expect((await chat(base, undefined, bearer(CI))).status).to.equal(401);
      writeFileSync(path, '[{');
      expect(reloadClients(running.balancer, path, logger)).to.equal(false);
      writeFileSync(path, JSON.stringify([{ name: 'ci', token: CI, dailyRequests: 1 }]));
      expect(reloadClients(running.balancer, path, logger)).to.equal(true);
      expect(text()).to.include('clients reloaded: 1 added, 1 removed');
      expect((await chat(base, undefined, bearer(RESEARCH))).status).to.equal(401);
      expect((await chat(base, undefined, bearer(CI))).status).to.equal(200);
      expect((await chat(base, undefined, bearer(CI))).status).to.equal(429);
    } finally {
      await running.shutdown();
    }
  });

  it("keeps the day's usage across a restart in state_file", async () => {
    const path = join(dir, 'clients.json');
    writeFileSync(path, JSON.stringify([{ name: 'research', token: RESEARCH, dailyRequests: 3 }]));
    const settings = loadSettingsLike(
      settingsFor(fake, { clients_file: path, state_file: join(dir, 'state.json') }),
      path,
    );
    const { logger } = capturedLogger();
    const first = await startServer(settings, logger);
    for (let i = 0; i < 2; i++)
      expect((await chat(`http://127.0.0.1:${first.port}`, undefined, bearer(RESEARCH))).status).to.equal(200);
    await first.shutdown();
    const second = await startServer(settings, logger);
    try {
      const base = `http://127.0.0.1:${second.port}`;
      const usage = await request(`${base}/usage`, { headers: bearer(RESEARCH) });
      expect(JSON.parse(usage.body)).to.include({ requests: 2, remaining: 1 });
      expect((await chat(base, undefined, bearer(RESEARCH))).status).to.equal(200);
      expect((await chat(base, undefined, bearer(RESEARCH))).status).to.equal(429);
    } finally {
      await second.shutdown();
    }
  });
});

/** Settings as loadSettings leaves them with a clients file: its clients read. */
function loadSettingsLike<T extends object>(settings: T, path: string): T & { clients: unknown[] } {
  return { ...settings, clients: JSON.parse(readFileSync(path, 'utf8')) };
}
