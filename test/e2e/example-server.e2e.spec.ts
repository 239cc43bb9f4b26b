import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, assertNoKeyIn, chat, request } from '../helpers.js';

const SERVER = new URL('../../example/server.ts', import.meta.url).pathname;
const DEMO = new URL('../../example/demo.ts', import.meta.url).pathname;
/** tsx by absolute URL: the child runs in a temporary directory, where a bare 'tsx' would not resolve. */
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

interface Child {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(script: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, script, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: mkdtempSync(join(tmpdir(), 'msb-cwd-')),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

/** Waits for `pattern` in the child's output; resolves with its first group as a number (the port). */
async function listening(child: Child, pattern = /listening on http:\/\/[^:]+:(\d+)/): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(child.output());
    if (match) return Number(match[1]);
    if (child.process.exitCode !== null) throw new Error(`exited early: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`did not start: ${child.output()}`);
}

function configFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'msb-')), 'config.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('the example server (child process)', function () {
  this.timeout(30_000);
  let fake: FakeModelScope;
  let child: Child | undefined;
  beforeEach(async () => {
    fake = await startFakeModelScope({ streamChunks: 6, streamIntervalMs: 100 });
  });
  afterEach(async () => {
    if (child && child.process.exitCode === null) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    child = undefined;
    await fake.close();
  });

  const seedConfig = () => ({
    api_keys: KEYS,
    server_port: '0',
    target_url: fake.url,
    health_check: true,
    health_path: '/v1/models',
  });

  it("serves the seed's URLs from the seed's config.json, sending traffic to the upstream", async () => {
    child = run(SERVER, ['--config', configFile(seedConfig())], { HOST: '127.0.0.1' });
    const base = `http://127.0.0.1:${await listening(child)}`;
    expect((await chat(base)).status).to.equal(200);
    expect(fake.count()).to.equal(1);
    const stats = JSON.parse((await request(`${base}/stats`)).body);
    expect(Object.keys(stats)).to.have.length(3);
    expect(JSON.parse((await request(`${base}/health`)).body).status).to.equal('ok');
    expect((await request(`${base}/metrics`)).body).to.include('modelscope_balance_requests_total');
    assertNoKeyIn(child.output() + JSON.stringify(stats));
    expect(child.output()).to.match(/"msg":"proxied"/);
  });

  it('serves under mount_path only, with the mount stripped', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false, mount_path: '/ms' })], {
      HOST: '127.0.0.1',
    });
    const base = `http://127.0.0.1:${await listening(child)}`;
    expect((await chat(`${base}/ms`)).status).to.equal(200);
    expect(fake.received[0].url).to.equal('/v1/chat/completions');
    expect((await request(`${base}/ms/health`)).status).to.equal(200);
    expect((await request(`${base}/msx/health`)).status).to.equal(404);
    expect((await chat(base)).status).to.equal(404);
    expect(fake.received).to.have.length(1);
  });

  it('lets the environment override the file, with MODELSCOPE_API_KEYS trimmed and empty entries dropped', async () => {
    const other = 'ms-e0e0e001-aaaa-4bbb-8ccc-000000000009';
    child = run(SERVER, ['--config', configFile(seedConfig())], {
      HOST: '127.0.0.1',
      MODELSCOPE_API_KEYS: ` ${other} , ,`,
      HEALTH_CHECK: 'false',
    });
    const base = `http://127.0.0.1:${await listening(child)}`;
    await chat(base);
    expect(fake.received.map((r) => r.key)).to.deep.equal([other]);
  });

  it('reads keys from a file named by MODELSCOPE_API_KEYS_FILE', async () => {
    const keysFile = configFile(`${KEYS[1]}\n\n# a comment\n${KEYS[2]}\n`);
    child = run(SERVER, [], {
      HOST: '127.0.0.1',
      PORT: '0',
      MODELSCOPE_API_KEYS_FILE: keysFile,
      MODELSCOPE_TARGET_URL: fake.url,
      HEALTH_CHECK: 'false',
    });
    const base = `http://127.0.0.1:${await listening(child)}`;
    await chat(base);
    await chat(base);
    expect(fake.received.map((r) => r.key)).to.deep.equal([KEYS[1], KEYS[2]]);
  });

  const bad: Array<[string, unknown, Record<string, string>, RegExp]> = [
    [
      'an unknown setting',
      { api_keys: KEYS, server_prot: 1 },
      {},
      /server_prot: is not a known setting\. Did you mean "server_port"\?/,
    ],
    ['a malformed port', { api_keys: KEYS, server_port: 'eighty' }, {}, /server_port: must be a port number/],
    ['no keys', { server_port: 0 }, {}, /api_keys: no ModelScope token was given/],
    [
      'the sample placeholders',
      { api_keys: ['your_api_key_1_here', 'your_api_key_2_here'] },
      {},
      /api_keys: still holds the sample placeholders/,
    ],
    ['a bad strategy', { api_keys: KEYS, strategy: 'random' }, {}, /strategy: must be one of the possible values/],
    ['a bad boolean in the environment', { api_keys: KEYS }, { HEALTH_CHECK: 'maybe' }, /health_check: /],
    ['broken JSON', '{"api_keys": [', {}, /config: .* is not valid JSON/],
    ['a target that is not a URL', { api_keys: KEYS, target_url: 'modelscope' }, {}, /target.*http\(s\) URL/],
  ];
  for (const [what, content, env, message] of bad) {
    it(`refuses to start with ${what}, in one line naming the setting`, async () => {
      child = run(SERVER, ['--config', configFile(content)], env);
      const code = await child.exited;
      expect(code).to.not.equal(0);
      expect(child.output()).to.match(message);
      assertNoKeyIn(child.output());
    });
  }

  it('refuses to start (exit 2) with a keys file line or a MODELSCOPE_API_KEYS entry that is not a key', async () => {
    const keysFile = configFile(`${KEYS[0]}\n${KEYS[1].slice(0, 25)}\n`);
    child = run(SERVER, ['--config', configFile({ server_port: 0 })], { MODELSCOPE_API_KEYS_FILE: keysFile });
    expect(await child.exited).to.equal(2);
    expect(child.output()).to.match(/config error: api_keys_file: line 2 is not a ModelScope token \(25 characters\)/);
    assertNoKeyIn(child.output());
    child = run(SERVER, ['--config', configFile({ server_port: 0 })], { MODELSCOPE_API_KEYS: `${KEYS[0]},e` });
    expect(await child.exited).to.equal(2);
    expect(child.output()).to.match(/config error: api_keys: entry 2 is not a ModelScope token \(1 character\)/);
  });

  it('on SIGTERM lets a stream in flight finish, then exits 0', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], { HOST: '127.0.0.1' });
    const port = await listening(child);
    const streamed = new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            if (body === '') child?.process.kill('SIGTERM');
            body += chunk.toString();
          });
          res.on('end', () => resolve(body));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ stream: true }));
    });
    const body = await streamed;
    expect(body).to.include('data: [DONE]');
    expect(await child.exited).to.equal(0);
    expect(child.output()).to.include('shutting down');
  });

  it('shuts down within the grace period when its log reader is gone (stdout closed: EPIPE)', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], {
      HOST: '127.0.0.1',
      SHUTDOWN_GRACE_MS: '1000',
    });
    await listening(child);
    child.process.stdout?.destroy();
    const started = Date.now();
    child.process.kill('SIGTERM');
    const code = await Promise.race([
      child.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 4_000)),
    ]);
    expect(code).to.equal(0);
    expect(Date.now() - started).to.be.below(4_000);
  });

  describe('keys changed without a restart', () => {
    const stats = async (base: string) => Object.keys(JSON.parse((await request(`${base}/stats`)).body));
    const waitForKeys = async (base: string, count: number) => {
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        if ((await stats(base)).length === count) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`expected ${count} keys, have ${(await stats(base)).length}: ${child?.output()}`);
    };

    it(
      'reloads the watched keys file, refuses an empty one, and reloads on SIGHUP, naming settings that need a ' +
        'restart',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'msb-keys-'));
        const keysFile = join(dir, 'keys');
        writeFileSync(keysFile, `${KEYS[0]}\n`);
        const config = configFile({ server_port: '0', target_url: fake.url, health_check: false });
        child = run(SERVER, ['--config', config], { HOST: '127.0.0.1', MODELSCOPE_API_KEYS_FILE: keysFile });
        const base = `http://127.0.0.1:${await listening(child)}`;
        expect(await stats(base)).to.deep.equal(['ms-11…0001']);
        writeFileSync(keysFile, `${KEYS[0]}\n${KEYS[1]}\n`);
        await waitForKeys(base, 2);
        writeFileSync(keysFile, '');
        await new Promise((r) => setTimeout(r, 600));
        expect(await stats(base)).to.have.length(2);
        expect(child.output()).to.match(/reload refused, the current keys stay: api_keys_file: the keys file is empty/);
        writeFileSync(keysFile, `${KEYS[1]}\n`);
        await waitForKeys(base, 1);
        // The config file is not watched: only SIGHUP applies it.
        writeFileSync(
          config,
          JSON.stringify({
            api_keys: [KEYS[2]],
            server_port: '0',
            target_url: fake.url,
            health_check: false,
            retry_attempts: 5,
          }),
        );
        await new Promise((r) => setTimeout(r, 400));
        expect(await stats(base)).to.deep.equal(['ms-22…0002']);
        child.process.kill('SIGHUP');
        await waitForKeys(base, 2);
        expect(await stats(base)).to.deep.equal(['ms-33…0003', 'ms-22…0002']);
        expect((await chat(base)).status).to.equal(200);
        expect(child.output()).to.match(
          /keys reloaded: 1 added, 0 removed, 1 kept; retry_attempts changed and take effect only after a restart/,
        );
        assertNoKeyIn(child.output());
      },
    );

    it('reloads the clients file when it changes and on SIGHUP, refusing a broken one whole', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'msb-clients-'));
      const clientsFile = join(dir, 'clients.json');
      const tokenA = 'client-a-token-0123456789';
      const tokenB = 'client-b-token-0123456789';
      const status = async (base: string, token: string) =>
        (await chat(base, undefined, { authorization: `Bearer ${token}` })).status;
      const until = async (check: () => Promise<boolean>) => {
        const deadline = Date.now() + 5_000;
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error(`timed out: ${child?.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      writeFileSync(clientsFile, JSON.stringify([{ name: 'a', token: tokenA }]));
      const config = configFile({ ...seedConfig(), health_check: false });
      child = run(SERVER, ['--config', config], { HOST: '127.0.0.1', BALANCE_CLIENTS_FILE: clientsFile });
      const base = `http://127.0.0.1:${await listening(child)}`;
      expect(await status(base, tokenA)).to.equal(200);
      writeFileSync(clientsFile, JSON.stringify([{ name: 'b', token: tokenB }]));
      await until(async () => (await status(base, tokenB)) === 200);
      expect(await status(base, tokenA)).to.equal(401);
      writeFileSync(
        clientsFile,
        JSON.stringify([
          { name: 'a', token: tokenA },
          { name: 'a', token: tokenB },
        ]),
      );
      await until(async () => child?.output().includes('clients reload refused') ?? false);
      expect(await status(base, tokenB)).to.equal(200);
      child.process.kill('SIGHUP');
      await until(async () => (child?.output().match(/clients reload refused/g) ?? []).length === 2);
      expect(await status(base, tokenB)).to.equal(200);
      expect(child.output()).not.to.include(tokenA.slice(0, 12)).and.not.include(tokenB.slice(0, 12));
    });
  });

  it('exits at once on a second signal', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], { HOST: '127.0.0.1' });
    const port = await listening(child);
    fake.behave(KEYS[0], 'hang');
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST' });
    req.on('error', () => {});
    req.end('{}');
    while (fake.received.length === 0) await new Promise((r) => setTimeout(r, 10));
    child.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(child.process.exitCode).to.equal(null);
    child.process.kill('SIGINT');
    expect(await child.exited).to.equal(1);
  });

  it('takes access_tokens and admin_token from the environment', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], {
      HOST: '127.0.0.1',
      BALANCE_ACCESS_TOKENS: 'client-a, client-b',
      BALANCE_ADMIN_TOKEN: 'admin-secret-1',
    });
    const base = `http://127.0.0.1:${await listening(child)}`;
    expect((await chat(base)).status).to.equal(401);
    expect((await chat(base, undefined, { authorization: 'Bearer client-b' })).status).to.equal(200);
    expect((await request(`${base}/stats`)).status).to.equal(401);
    expect((await request(`${base}/stats`, { headers: { authorization: 'Bearer admin-secret-1' } })).status).to.equal(
      200,
    );
    expect(child.output()).not.to.include('client-b');
    expect(child.output()).not.to.include('admin-secret-1');
  });

  it('drops a client that is too slow to send its headers', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], {
      HOST: '127.0.0.1',
      HEADERS_TIMEOUT_MS: '300',
      REQUEST_TIMEOUT_MS: '600',
    });
    const port = await listening(child);
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () =>
        socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).to.match(/^HTTP\/1.1 408/);
    expect(Date.now() - started).to.be.lessThan(5000);
    expect(fake.received).to.have.length(0);
  });

  it('warns when it listens beyond loopback with no access tokens', async () => {
    child = run(SERVER, ['--config', configFile({ ...seedConfig(), health_check: false })], { HOST: '0.0.0.0' });
    await listening(child, /(non-loopback address with no access tokens)/);
  });

  it('npm run demo starts with no token and no network, with one demo key failing its probes', async () => {
    child = run(DEMO, [], { PORT: '0' });
    const port = await listening(child, /the balancer at http:\/\/127\.0\.0\.1:(\d+)/);
    const base = `http://127.0.0.1:${port}`;
    let health: { healthy_keys?: number } = {};
    for (let i = 0; i < 100 && health.healthy_keys !== 2; i++) {
      health = JSON.parse((await request(`${base}/health`)).body);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(health).to.deep.equal({ status: 'ok', healthy_keys: 2, total_keys: 3 });
    expect((await chat(base)).status).to.equal(200);
    expect(child.output()).to.include('curl -N');
    // The Claude Code line, and the Messages API it points at.
    expect(child.output()).to.include(`ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=demo`);
    const message = await request(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'demo' },
      body: JSON.stringify({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect([message.status, JSON.parse(message.body).type]).to.deep.equal([200, 'message']);
  });
});
