import net from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { startServer, type RunningServer } from '../../example/create-server.js';
import { createLogger } from '../../example/logger.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { settingsFor } from '../fixtures/example-settings.js';
import { KEYS, chat, request } from '../helpers.js';

/** Sends raw bytes and returns everything the server answers before closing. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
  });
}

describe('the example server as an Express app (in process)', () => {
  let fake: FakeModelScope;
  let running: RunningServer;
  const silent = createLogger('silent', KEYS, new Writable({ write: (_c, _e, done) => done() }));
  beforeEach(async () => {
    fake = await startFakeModelScope();
    running = await startServer(settingsFor(fake, { mount_path: '/ms' }), silent);
  });
  afterEach(async () => {
    await running.shutdown();
    await fake.close();
  });

  it('mounts the balancer with app.use, without x-powered-by, and answers JSON 404 outside the mount', async () => {
    const base = `http://127.0.0.1:${running.port}`;
    const ok = await chat(`${base}/ms`);
    expect(ok.status).to.equal(200);
    expect(ok.headers).not.to.have.property('x-powered-by');
    const missing = await request(`${base}/elsewhere`);
    expect(missing.status).to.equal(404);
    expect(missing.headers['content-type']).to.include('application/json');
    expect(JSON.parse(missing.body).error).to.include({ code: 'not_found' });
    expect(missing.headers).not.to.have.property('x-powered-by');
  });

  it('serves the status page under the mount point', async () => {
    const page = await request(`http://127.0.0.1:${running.port}/ms/status`);
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.include('text/html');
    expect(page.body).to.include('<tbody id="keys"><tr data-label="ms-11…0001">');
    expect(page.body).to.include('/ms/status/app.js');
    expect((await request(`http://127.0.0.1:${running.port}/ms/status/app.js`)).status).to.equal(200);
  });

  it('answers a malformed request and oversized headers with OpenAI-shaped JSON', async () => {
    const malformed = await rawExchange(running.port, 'GARBAGE\r\n\r\n');
    expect(malformed).to.match(/^HTTP\/1.1 400/);
    expect(JSON.parse(malformed.split('\r\n\r\n')[1]).error.code).to.equal('bad_request');
    const huge = await rawExchange(
      running.port,
      `GET /ms/health HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(huge).to.match(/^HTTP\/1.1 431/);
    expect(JSON.parse(huge.split('\r\n\r\n')[1]).error.code).to.equal('headers_too_large');
  });
});
