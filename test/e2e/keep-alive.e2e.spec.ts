import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../example/logger.js';
import { startServer, type RunningServer } from '../../example/create-server.js';
import { loadSettings } from '../../example/load-settings.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { settingsFor } from '../fixtures/example-settings.js';
import { KEYS } from '../helpers.js';

/** A raw keep-alive connection: sends requests, records answers and when the server closed it. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const started = performance.now();
  let received = '';
  let closedAt: number | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('close', () => {
    closedAt = performance.now() - started;
  });
  return {
    get: () => socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'),
    answers: () => received.match(/HTTP\/1\.1 200/g)?.length ?? 0,
    closedAt: () => closedAt,
    destroy: () => socket.destroy(),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the standalone server behind a proxy: keep-alive', function () {
  this.timeout(15_000);
  let fake: FakeModelScope;
  let running: RunningServer | undefined;
  beforeEach(async () => {
    fake = await startFakeModelScope();
  });
  afterEach(async () => {
    await running?.shutdown();
    running = undefined;
    await fake.close();
  });

  it("keeps an idle connection open past nginx's and cloud balancers' 60 s by default", () => {
    const config = join(mkdtempSync(join(tmpdir(), 'msb-ka-')), 'config.json');
    writeFileSync(config, '{}');
    const settings = loadSettings({ MODELSCOPE_API_KEYS: KEYS.join(',') }, ['--config', config]);
    expect(settings.keep_alive_timeout_ms).to.equal(65_000).and.to.be.greaterThan(60_000);
    // Slow-header protection is not traded for it: the headers timeout stays short.
    expect(settings.headers_timeout_ms).to.be.below(settings.keep_alive_timeout_ms);
  });

  it(
    'holds an idle kept-alive connection for keep_alive_timeout_ms, whatever the shorter headers and request ' +
      'timeouts, then closes it',
    async () => {
      // The 61 s of the default, scaled down: headers 200 ms and request 300 ms, both far shorter than the keep-alive.
      const settings = settingsFor(fake, {
        keep_alive_timeout_ms: 1_000,
        headers_timeout_ms: 200,
        request_timeout_ms: 300,
      });
      running = await startServer(settings, createLogger('silent', KEYS));
      const connection = connect(running.port);
      connection.get();
      await pause(600); // idle past both timeouts
      expect(connection.closedAt(), 'closed while idle').to.equal(undefined);
      connection.get();
      await pause(200);
      expect(connection.answers()).to.equal(2);
      await pause(2_500); // keep-alive over (Node adds a second of grace)
      expect(connection.closedAt(), 'closed once the keep-alive ran out').to.be.a('number');
      connection.destroy();
    },
  );
});
