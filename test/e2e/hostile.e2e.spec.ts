import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { modelscopeBalance, type Balancer, type BalanceOptions } from '../../lib/index.js';
import { nonReadingClient, startHostileUpstream, type HostileUpstream } from '../fixtures/hostile-upstream.js';
import {
  KEYS,
  assertNoKeyIn,
  captureLogger,
  chat,
  listen,
  manualClock,
  request,
  startRig,
  waitFor,
  type Rig,
} from '../helpers.js';

interface HostileRig {
  hostile: HostileUpstream;
  balancer: Balancer;
  server: http.Server;
  url: string;
  inFlight(): number;
  /** Client connections the host server still holds. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

async function hostileRig(options: Partial<BalanceOptions> = {}): Promise<HostileRig> {
  const hostile = await startHostileUpstream();
  const balancer = modelscopeBalance({ keys: KEYS, healthCheck: false, ...options, target: hostile.url });
  const app = express();
  app.use('/ms', balancer);
  const server = await listen(app);
  return {
    hostile,
    balancer,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ms`,
    inFlight: () => Object.values(balancer.stats()).reduce((sum, s) => sum + s.in_flight, 0),
    connections: () => new Promise<number>((resolve) => server.getConnections((_error, count) => resolve(count))),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await balancer.close();
      await hostile.close();
    },
  };
}

/** POST to /v1/hostile/<mode> (chat() appends /v1/chat/completions, so this builds the request itself). */
function hostilePost(url: string, mode: string, body = '{"model":"m"}') {
  return request(`${url}/v1/hostile/${mode}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

describe('hostile review: crashes, leaks and hangs', () => {
  let rig: HostileRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  describe('1. an absurd Retry-After', () => {
    it('cools the key no longer than cooldown.maxMs and /stats keeps answering', async () => {
      rig = await hostileRig({ cooldown: { baseMs: 1000, maxMs: 60_000 }, retry: { attempts: 1 } });
      const res = await hostilePost(rig.url, 'absurd-retry-after');
      expect(res.status).to.equal(429);
      const stats = await request(`${rig.url}/stats`);
      expect(stats.status).to.equal(200);
      const first = Object.values(JSON.parse(stats.body) as Record<string, { cooldown_until: string }>)[0];
      expect(Date.parse(first.cooldown_until) - Date.now()).to.be.within(50_000, 60_000);
    });
  });

  describe('2. keys with invisible or non-Latin-1 characters', () => {
    for (const [what, key, kind] of [
      ['a zero-width space', 'ms-1111\u200b1111-aaaa-4bbb-8ccc-000000000001', /invisible character .* at position 8/],
      ['a Cyrillic letter', 'ms-1111\u04301111-aaaa-4bbb-8ccc-000000000001', /non-ASCII character .* at position 8/],
      ['DEL', 'ms-1111\u007f1111-aaaa-4bbb-8ccc-000000000001', /control character at position 8/],
    ] as const) {
      it(`refuses a key with ${what} at construction, naming the position and kind, never the key`, () => {
        let message = '';
        try {
          modelscopeBalance({ keys: [KEYS[0], key] });
        } catch (error) {
          message = (error as Error).message;
          expect((error as { code?: string }).code).to.equal('ERR_MSB_KEYS');
        }
        expect(message).to.match(kind);
        expect(message).to.include('keys[1]');
        assertNoKeyIn(message, [key, KEYS[0]]);
      });
    }
  });

  describe('3. keys echoed by the upstream', () => {
    for (const mode of ['echo-json', 'echo-sse', 'echo-headers', 'echo-gzip-error', 'echo-escaped']) {
      it(`never pass to the client: ${mode}`, async () => {
        rig = await hostileRig({ retry: { attempts: 1 } });
        const res = await hostilePost(rig.url, mode);
        expect(res.status).to.be.oneOf([200, 400]);
        assertNoKeyIn(res.body + JSON.stringify(res.headers));
        assertNoKeyIn(JSON.stringify(res.headers).replace(/\\u002d/g, '-'));
        assertNoKeyIn(res.body.replace(/\\u002d/g, '-'));
        if (mode === 'echo-sse') expect(res.body).to.include('data: [DONE]');
        if (mode === 'echo-gzip-error')
          expect(JSON.parse(res.body).error.message).to.match(/^token \[redacted\] refused$/);
      });
    }

    for (const method of ['TRACE', 'PUT', 'DELETE', 'PROPFIND', 'PATCH']) {
      it(`answers ${method} with 405 JSON and no upstream call`, async () => {
        rig = await hostileRig();
        const res = await request(`${rig.url}/v1/hostile/ok`, { method });
        expect(res.status).to.equal(405);
        expect(res.headers.allow).to.equal('GET, HEAD, POST');
        expect(JSON.parse(res.body).error.code).to.equal('method_not_allowed');
        expect(Object.values(rig.balancer.stats()).every((s) => s.requests === 0)).to.equal(true);
      });
    }
  });

  describe('4. hangs', () => {
    it('takes a 101 as an upstream error at once: 502, in-flight back to 0', async () => {
      rig = await hostileRig({ retry: { attempts: 1 }, timeouts: { firstByteMs: 5_000 } });
      const started = performance.now();
      const res = await hostilePost(rig.url, 'switching-protocols');
      expect(res.status).to.equal(502);
      expect(performance.now() - started).to.be.below(2_000);
      await waitFor(() => rig!.inFlight() === 0);
    });

    it('destroys a trickling 429 dropped during failover, and cuts one being read whole at its deadline', async () => {
      rig = await hostileRig({ retry: { attempts: 2 }, timeouts: { idleMs: 1_500 } });
      // Both attempts trickle a byte every 200 ms: the first is discarded (destroyed within 1 s) when the second is
      // chosen; the second, read whole to be answered, is cut when its body deadline passes.
      const started = performance.now();
      const res = await hostilePost(rig.url, 'trickle-429');
      expect(res.status).to.equal(502);
      expect(JSON.parse(res.body).error.code).to.equal('stream_interrupted');
      expect(performance.now() - started).to.be.below(3_000);
      await waitFor(() => rig!.inFlight() === 0);
      await waitFor(() => rig!.hostile.sockets() === 0);
    });
  });

  describe('5. a client that stops reading', () => {
    it('is cut off after idleMs and never counted against the key', async () => {
      rig = await hostileRig({ timeouts: { idleMs: 300 }, failureThreshold: 1, retry: { attempts: 1 } });
      const socket = nonReadingClient(Number(new URL(rig.url).port), '/ms/v1/hostile/fast-stream');
      await waitFor(() => rig!.inFlight() === 1);
      const started = performance.now();
      await waitFor(() => rig!.inFlight() === 0, 5_000);
      expect(performance.now() - started).to.be.below(3_000);
      expect(await rig!.connections()).to.equal(0);
      socket.destroy();
      const stats = Object.values(rig.balancer.stats());
      expect(stats.map((s) => [s.state, s.consecutive_failures])).to.deep.equal([
        ['healthy', 0],
        ['healthy', 0],
        ['healthy', 0],
      ]);
    });
  });

  describe('7. resources', () => {
    it('closes the socket of a client that never reads, also when the stream breaks meanwhile', async () => {
      rig = await hostileRig({ timeouts: { idleMs: 800 }, retry: { attempts: 1 } });
      // When all that came before the break fits in the kernel's socket buffers, Node counts the answer as sent and
      // the server's keep-alive timeout (5 s by default) closes the socket; otherwise the balancer's own cut-off does.
      rig.server.keepAliveTimeout = 500;
      const socket = nonReadingClient(Number(new URL(rig.url).port), '/ms/v1/hostile/fast-then-break');
      await waitFor(() => rig!.inFlight() === 1);
      await waitFor(() => rig!.inFlight() === 0, 3_000);
      await waitFor(async () => (await rig!.connections()) === 0, 3_000);
      socket.destroy();
    });

    it('caps the request bytes held at once: 503 with Retry-After, nothing forwarded', async () => {
      rig = await hostileRig({ maxBufferedBytes: 1_000, maxBodyBytes: 900, timeouts: { firstByteMs: 5_000 } });
      // The trickling answer keeps the first request (and its 700-byte body) under way.
      const held = hostilePost(rig.url, 'trickle-429', 'a'.repeat(700)).catch(() => undefined);
      await waitFor(() => rig!.inFlight() === 1);
      const refused = await hostilePost(rig.url, 'ok', 'b'.repeat(700));
      expect(refused.status).to.equal(503);
      expect(refused.headers['retry-after']).to.equal('1');
      expect(JSON.parse(refused.body).error.code).to.equal('server_busy');
      void held;
    });
  });

  describe('8. silent truncation', () => {
    it('replaces an error body over 1 MiB with our own complete JSON error, key piece or not', async () => {
      rig = await hostileRig({ retry: { attempts: 1 } });
      const res = await hostilePost(rig.url, 'giant-error');
      expect(res.status).to.equal(500);
      expect(res.complete).to.equal(true);
      expect(JSON.parse(res.body).error.code).to.equal('upstream_answer_too_large');
      assertNoKeyIn(res.body);
      await waitFor(() => rig!.inFlight() === 0);
    });
  });
});

describe('hostile review: the pool', () => {
  let plain: Rig | undefined;
  afterEach(async () => {
    await plain?.close();
    plain = undefined;
  });

  it('6. one refused key plus cooling keys answers 429 all_keys_cooling with Retry-After, not 503', async () => {
    const clock = manualClock();
    plain = await startRig({ now: clock.now, cooldown: { baseMs: 10_000, maxMs: 60_000 } });
    plain.fake.behave(KEYS[0], 'unauthorized');
    plain.fake.behave(KEYS[1], 'rate-limited');
    plain.fake.behave(KEYS[2], 'rate-limited');
    await chat(plain.url);
    const res = await chat(plain.url);
    expect(res.status).to.equal(429);
    expect(JSON.parse(res.body).error.code).to.equal('all_keys_cooling');
    expect(res.headers['retry-after']).to.equal('10');
  });

  it('6. … and honours queueTimeoutMs in that mixed pool', async () => {
    plain = await startRig({ cooldown: { baseMs: 200, maxMs: 1000 }, queueTimeoutMs: 2000 });
    plain.fake.behave(KEYS[0], 'unauthorized');
    plain.fake.behave(KEYS[1], 'rate-limited');
    plain.fake.behave(KEYS[2], 'rate-limited');
    await chat(plain.url);
    plain.fake.behave(KEYS[1], 'ok');
    plain.fake.behave(KEYS[2], 'ok');
    const res = await chat(plain.url);
    expect(res.status).to.equal(200);
  });

  it('10. ends a request at timeouts.totalMs however many attempts are left', async () => {
    plain = await startRig({ timeouts: { firstByteMs: 5_000, totalMs: 300 }, retry: { timeouts: 'always' } });
    for (const key of KEYS) plain.fake.behave(key, 'hang');
    const started = performance.now();
    const res = await chat(plain.url);
    expect(res.status).to.equal(504);
    expect(performance.now() - started).to.be.below(1_500);
    expect(plain.fake.count()).to.equal(1);
  });

  it('10. logs refused access tokens with the client address, never the token, at most once per 10 s', async () => {
    const logger = captureLogger();
    plain = await startRig({ logger, accessTokens: ['client-token-aaaaaaaaaaaa'] });
    for (let i = 0; i < 5; i++)
      await chat(plain.url, undefined, { authorization: 'Bearer wrong-token-bbbbbbbbbbbbbbb' });
    const refusals = logger.lines.filter((l) => /refused a request/.test(l.msg ?? ''));
    expect(refusals).to.have.length(1);
    expect(refusals[0].obj).to.include({ client: '127.0.0.1', code: 'invalid_access_token' });
    expect(logger.text()).not.to.include('wrong-token');
    expect(logger.text()).not.to.include('client-token');
  });
});
