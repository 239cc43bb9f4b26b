import http from 'node:http';
import { expect } from 'chai';
import { KEYS, captureLogger, chat, manualClock, request as raw, startRig, waitFor, type Rig } from '../helpers.js';

describe('resilience: failover, cooldowns, timeouts', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  const stat = (i: number) => Object.values(rig.balancer.stats())[i];
  const body = { model: 'm', messages: [{ role: 'user', content: 'ünïcode ✓' }], temperature: 0.25 };

  // A reset after a POST went out whole is resent only with retry.timeouts 'always' (see the rules below).
  for (const [behaviour, retry] of [
    ['rate-limited', {}],
    ['server-error', {}],
    ['unavailable', {}],
    ['unauthorized', {}],
    ['reset', { timeouts: 'always' }],
  ] as const) {
    it(`moves a request that got ${behaviour} to the next key, replaying the body byte for byte`, async () => {
      rig = await startRig({ retry });
      rig.fake.behave(KEYS[0], behaviour);
      const res = await chat(rig.url, body);
      expect(res.status).to.equal(200);
      expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
      const [first, second] = rig.fake.received;
      expect(second.body.equals(first.body)).to.equal(true);
      expect(JSON.parse(second.body.toString())).to.deep.equal(body);
    });
  }

  it("moves on after the first-byte timeout with retry.timeouts 'always'", async () => {
    rig = await startRig({ timeouts: { firstByteMs: 150 }, retry: { timeouts: 'always' } });
    rig.fake.behave(KEYS[0], 'hang');
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
  });

  describe("what is resent by default (nginx's non_idempotent rule)", () => {
    it(
      'answers a POST that hangs past firstByteMs with 504 and no second upstream call; the key stays ' + 'healthy',
      async () => {
        rig = await startRig({ timeouts: { firstByteMs: 150 }, failureThreshold: 1 });
        rig.fake.behave(KEYS[0], 'hang');
        const res = await chat(rig.url);
        expect(res.status).to.equal(504);
        expect(JSON.parse(res.body).error.code).to.equal('upstream_timeout');
        expect(res.headers['x-modelscope-balance-attempts']).to.equal('1');
        expect(rig.fake.count()).to.equal(1);
        expect(stat(0)).to.include({ state: 'healthy', consecutive_failures: 0 });
        expect(stat(0).last_error).to.deep.include({ status: 'timeout', reason: 'first byte timeout' });
      },
    );

    it('answers a POST reset after it was sent whole on a fresh socket with 502, not resent', async () => {
      rig = await startRig();
      rig.fake.behave(KEYS[0], 'reset');
      const res = await chat(rig.url);
      expect(res.status).to.equal(502);
      expect(rig.fake.count()).to.equal(1);
    });

    it('still fails a GET over to the next key on a timeout', async () => {
      rig = await startRig({ timeouts: { firstByteMs: 150 } });
      rig.fake.behave(KEYS[0], 'hang');
      const res = await raw(`${rig.url}/v1/echo`);
      expect(res.status).to.equal(200);
      expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
    });

    it('still fails over when the connection never opened', async () => {
      rig = await startRig({ target: 'http://127.0.0.1:9', retry: { attempts: 2 } });
      const res = await chat(rig.url);
      expect(res.status).to.equal(502);
      expect(res.headers['x-modelscope-balance-attempts']).to.equal('2');
    });
  });

  for (const status of [400, 404, 413, 422]) {
    it(`never retries a ${status}`, async () => {
      rig = await startRig();
      rig.fake.behave(KEYS[0], { status });
      expect((await chat(rig.url)).status).to.equal(status);
      expect(rig.fake.count()).to.equal(1);
    });
  }

  it('gives the client the last upstream answer, OpenAI-shaped, when every attempt fails', async () => {
    rig = await startRig();
    for (const key of KEYS) rig.fake.behave(key, { retryAfterSeconds: 7 });
    const res = await chat(rig.url);
    expect(res.status).to.equal(429);
    expect(res.headers['retry-after']).to.equal('7');
    // ModelScope's `{"errors":{…}}` is not what OpenAI SDKs read: same message and request id, OpenAI's shape.
    expect(JSON.parse(res.body)).to.deep.equal({
      error: {
        message: 'Request limit exceeded.',
        type: 'rate_limit_error',
        code: 'rate_limited',
        request_id: 'fake-request',
      },
    });
    expect(rig.fake.count()).to.equal(3);
  });

  it('answers 502 with a JSON error when the upstream cannot be reached', async () => {
    rig = await startRig({ target: 'http://127.0.0.1:9' });
    const res = await chat(rig.url);
    expect(res.status).to.equal(502);
    expect(JSON.parse(res.body).error.code).to.equal('upstream_unreachable');
  });

  it('answers 504 with a JSON error when every attempt times out', async () => {
    rig = await startRig({ timeouts: { firstByteMs: 100 }, retry: { attempts: 2, timeouts: 'always' } });
    for (const key of KEYS) rig.fake.behave(key, 'hang');
    const res = await chat(rig.url);
    expect(res.status).to.equal(504);
    expect(JSON.parse(res.body).error.code).to.equal('upstream_timeout');
    expect(rig.fake.count()).to.equal(2);
  });

  it('never tries more keys than it has, whatever retry.attempts says', async () => {
    rig = await startRig({ retry: { attempts: 10 } });
    for (const key of KEYS) rig.fake.behave(key, 'server-error');
    expect((await chat(rig.url)).status).to.equal(500);
    expect(rig.fake.count()).to.equal(3);
  });

  it('refuses a body over maxBodyBytes with 413 before any upstream call', async () => {
    rig = await startRig({ maxBodyBytes: 1000 });
    const res = await raw(`${rig.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(5000),
    });
    expect(res.status).to.equal(413);
    expect(JSON.parse(res.body).error.code).to.equal('request_too_large');
    expect(rig.fake.received).to.have.length(0);
  });

  it('refuses a chunked body that grows past maxBodyBytes', async () => {
    rig = await startRig({ maxBodyBytes: 1000 });
    const status = await new Promise<number>((resolve) => {
      const req = http.request(
        `${rig.url}/v1/chat/completions`,
        { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => resolve(-1));
      req.write('y'.repeat(800));
      req.write('y'.repeat(800));
      req.end();
    });
    expect(status).to.equal(413);
    expect(rig.fake.received).to.have.length(0);
  });

  it('cools a key for exactly Retry-After, then uses it again', async () => {
    const clock = manualClock();
    rig = await startRig({ now: clock.now });
    rig.fake.behave(KEYS[0], { retryAfterSeconds: 42 });
    await chat(rig.url);
    expect(stat(0).state).to.equal('cooling');
    expect(stat(0).cooldown_until).to.equal(new Date(clock.now() + 42_000).toISOString());
    expect(stat(0).last_error).to.deep.include({ status: 429 });
    rig.fake.behave(KEYS[0], 'ok');
    clock.advance(41_999);
    for (let i = 0; i < 4; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.equal(1);
    clock.advance(1);
    expect(stat(0).state).to.equal('healthy');
    for (let i = 0; i < 3; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.equal(2);
  });

  it('when every key cools down, answers 429 with Retry-After until the first returns', async () => {
    const clock = manualClock();
    rig = await startRig({ now: clock.now, cooldown: { baseMs: 10_000, maxMs: 60_000 } });
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    await chat(rig.url);
    clock.advance(2_500);
    const res = await chat(rig.url);
    expect(res.status).to.equal(429);
    expect(res.headers['retry-after']).to.equal('8');
    expect(JSON.parse(res.body).error.code).to.equal('all_keys_cooling');
    expect(rig.fake.count()).to.equal(3);
  });

  it('with queueTimeoutMs, waits for the first cooling key to return instead', async () => {
    rig = await startRig({ cooldown: { baseMs: 200, maxMs: 1000 }, queueTimeoutMs: 2000 });
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    await chat(rig.url);
    for (const key of KEYS) rig.fake.behave(key, 'ok');
    const started = performance.now();
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    expect(performance.now() - started).to.be.greaterThan(100);
  });

  it('marks a key unhealthy after failureThreshold failures and counts it out of /health', async () => {
    rig = await startRig({ failureThreshold: 2, retry: { attempts: 1 } });
    rig.fake.behave(KEYS[0], 'server-error');
    await chat(rig.url);
    expect(stat(0)).to.include({ state: 'healthy', consecutive_failures: 1 });
    for (let i = 0; i < 3; i++) await chat(rig.url);
    expect(stat(0)).to.include({ state: 'unhealthy', consecutive_failures: 2, healthy: false });
    const health = await raw(`${rig.url}/health`);
    expect(JSON.parse(health.body)).to.deep.equal({ status: 'ok', healthy_keys: 2, total_keys: 3 });
  });

  it('marks a refused key invalid and gives it one trial request after invalidKeyRetryMs', async () => {
    const clock = manualClock();
    const logger = captureLogger();
    rig = await startRig({ now: clock.now, logger, invalidKeyRetryMs: 60_000 });
    rig.fake.behave(KEYS[0], 'unauthorized');
    expect((await chat(rig.url)).status).to.equal(200);
    expect(stat(0).state).to.equal('invalid');
    expect(logger.lines.filter((l) => (l.obj as { to?: string }).to === 'invalid')).to.have.length(1);
    for (let i = 0; i < 4; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.equal(1);
    rig.fake.behave(KEYS[0], 'ok');
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) await chat(rig.url);
    expect(rig.fake.count(KEYS[0])).to.equal(2);
    expect(stat(0).state).to.equal('healthy');
  });

  it('says so in the log when most keys are limited at once, and does not escalate their cooldowns', async () => {
    const clock = manualClock();
    const logger = captureLogger();
    rig = await startRig({ now: clock.now, logger, cooldown: { baseMs: 1000, maxMs: 60_000 } });
    for (const key of KEYS) rig.fake.behave(key, 'rate-limited');
    await chat(rig.url);
    expect(logger.lines.filter((l) => /throttling this machine/.test(l.msg ?? ''))).to.have.length(1);
    clock.advance(1000);
    await chat(rig.url);
    const until = Object.values(rig.balancer.stats()).map((s) => Date.parse(s.cooldown_until as string) - clock.now());
    expect(Math.max(...until)).to.be.at.most(1000);
  });

  it('ends a broken SSE stream with a last data: event carrying a JSON error', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'stream-break');
    const res = await chat(rig.url, { stream: true });
    expect(res.status).to.equal(200);
    const events = res.body.trim().split('\n\n');
    expect(events).to.have.length(3);
    const last = JSON.parse(events[2].replace(/^data: /, ''));
    expect(last.error.code).to.equal('stream_interrupted');
    expect(stat(0).consecutive_failures).to.equal(1);
  });

  it('ends a stalled SSE stream after idleMs with the same error event', async () => {
    rig = await startRig({ timeouts: { idleMs: 150 } });
    rig.fake.behave(KEYS[0], 'stream-stall');
    const started = performance.now();
    const res = await chat(rig.url, { stream: true });
    expect(performance.now() - started).to.be.lessThan(2000);
    expect(res.body).to.match(/idle timeout/);
    await waitFor(() => stat(0).in_flight === 0);
  });

  it('cuts a broken non-SSE body so the client sees it incomplete, never whole', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'body-break');
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    expect(res.complete).to.equal(false);
    expect(res.body).to.equal('{"id":"chatcmpl-cut",');
    await waitFor(() => stat(0).in_flight === 0 && stat(0).consecutive_failures === 1);
  });

  it('answers a JSON 502 when an error body it was reading breaks off', async () => {
    rig = await startRig({ retry: { attempts: 1 } });
    rig.fake.behave(KEYS[0], 'error-body-break');
    const res = await chat(rig.url);
    expect(res.status).to.equal(502);
    expect(JSON.parse(res.body).error.code).to.equal('stream_interrupted');
    await waitFor(() => stat(0).in_flight === 0);
  });

  it('aborts the upstream at once when the client leaves before the answer, and in-flight returns to 0', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'hang');
    const req = http.request(`${rig.url}/v1/chat/completions`, { method: 'POST' });
    req.on('error', () => {});
    req.end('{}');
    await waitFor(() => rig.fake.received.length === 1);
    expect(stat(0).in_flight).to.equal(1);
    req.destroy();
    await waitFor(() => rig.fake.abandoned === 1);
    await waitFor(() => stat(0).in_flight === 0);
    expect(rig.fake.received).to.have.length(1);
  });
});
