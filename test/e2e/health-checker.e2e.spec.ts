import { spawn } from 'node:child_process';
import { expect } from 'chai';
import request from 'supertest';
import { KEYS, assertNoKeyIn, captureLogger, startRig, testKey, waitFor, type Rig } from '../helpers.js';

describe('active health checks', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  const labels = () => Object.keys(rig.balancer.stats());
  const healthy = () => Object.values(rig.balancer.stats()).map((s) => s.healthy);

  it('counts a key as healthy until its first probe answers', async () => {
    rig = await startRig(
      { healthCheck: { intervalMs: 3_600_000 } },
      {
        setup: (fake) => {
          for (const k of KEYS) fake.probe(k, 'hang');
        },
      },
    );
    await waitFor(() => rig.fake.count(undefined, '/v1/models') === 3);
    expect(healthy()).to.deep.equal([true, true, true]);
    expect((await request(rig.app).post('/ms/v1/chat/completions').send({})).status).to.equal(200);
  });

  it('probes every key at start with its own token', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 3_600_000 } });
    await waitFor(() => rig.fake.count(undefined, '/v1/models') === 3);
    expect(rig.fake.received.map((r) => r.key).sort()).to.deep.equal([...KEYS].sort());
  });

  it(
    'marks a key unhealthy on 5xx, a timeout or a refused connection, and healthy again after a pass, logging each ' +
      'change once',
    async () => {
      const logger = captureLogger();
      rig = await startRig({ logger, healthCheck: { intervalMs: 3_600_000, timeoutMs: 100 } });
      await rig.balancer.checkHealth();
      rig.fake.probe(KEYS[0], 'fail').probe(KEYS[2], 'hang');
      await rig.balancer.checkHealth();
      expect(healthy()).to.deep.equal([false, true, false]);
      await rig.balancer.checkHealth();
      const wentBad = logger.lines.filter((l) => l.level === 'warn' && (l.obj as { to?: string }).to === 'unhealthy');
      expect(wentBad).to.have.length(2);
      rig.fake.probe(KEYS[0], 'ok').probe(KEYS[2], 'ok');
      await rig.balancer.checkHealth();
      expect(healthy()).to.deep.equal([true, true, true]);
      const recovered = logger.lines.filter((l) => l.level === 'info' && (l.obj as { to?: string }).to === 'healthy');
      expect(recovered).to.have.length(2);
      assertNoKeyIn(logger.text());
    },
  );

  it('skips unhealthy keys when routing', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 3_600_000 } });
    rig.fake.probe(KEYS[1], 'fail');
    await rig.balancer.checkHealth();
    rig.fake.received.length = 0;
    for (let i = 0; i < 6; i++) await request(rig.app).post('/ms/v1/chat/completions').send({}).expect(200);
    expect(KEYS.map((k) => rig.fake.count(k))).to.deep.equal([3, 0, 3]);
  });

  it('marks a key unreachable when the upstream is down', async () => {
    rig = await startRig({ target: 'http://127.0.0.1:9', healthCheck: { intervalMs: 3_600_000, timeoutMs: 500 } });
    await rig.balancer.checkHealth();
    expect(healthy()).to.deep.equal([false, false, false]);
    const res = await request(rig.app).get('/ms/health').expect(503);
    expect(res.body).to.deep.equal({ status: 'unavailable', healthy_keys: 0, total_keys: 3 });
  });

  it('probes on its interval', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 50 } });
    await waitFor(() => rig.fake.count(undefined, '/v1/models') >= 9, 3000);
    expect(labels()).to.have.length(3);
  });

  it('has timers that do not keep the process alive', async function () {
    this.timeout(15_000);
    const script = new URL('../fixtures/idle-balancer.ts', import.meta.url).pathname;
    const loader = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
    const child = spawn(process.execPath, ['--import', loader, script], { stdio: 'ignore' });
    const exited = await Promise.race([
      new Promise<number | null>((resolve) => child.once('exit', resolve)),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 8000)),
    ]);
    if (exited === 'hung') child.kill('SIGKILL');
    expect(exited).to.equal(0);
  });

  it('keeps at most `concurrency` probes under way', async () => {
    const many = Array.from({ length: 12 }, (_, i) => testKey(i));
    rig = await startRig({ keys: many, healthCheck: { intervalMs: 3_600_000, timeoutMs: 200, concurrency: 2 } });
    for (const key of many) rig.fake.probe(key, 'hang');
    rig.fake.received.length = 0;
    void rig.balancer.checkHealth();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rig.fake.count(undefined, '/v1/models')).to.equal(2);
  });

  it('spreads the probes of a large pool over the interval instead of firing them at once', async () => {
    const many = Array.from({ length: 100 }, (_, i) => testKey(i, '0000ace0'));
    // 100 keys over half of a 2 s interval: one probe start every 10 ms, a round of about a second.
    rig = await startRig({ keys: many, healthCheck: { intervalMs: 2000, concurrency: 50 } });
    await rig.balancer.checkHealth();
    const probes = rig.fake.received.filter((r) => r.url === '/v1/models');
    expect(new Set(probes.map((r) => r.key)).size).to.equal(100);
    // Fired at once, 50 workers would finish in a few ms; paced, the first and last are about a second apart.
    const times = probes.map((r) => r.at);
    expect(Math.max(...times) - Math.min(...times)).to.be.greaterThan(800);
  });

  it('does not probe a healthy key that served a request within the interval', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 3_600_000 } });
    await rig.balancer.checkHealth();
    await request(rig.app).post('/ms/v1/chat/completions').send({}).expect(200);
    rig.fake.received.length = 0;
    await rig.balancer.checkHealth();
    expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[1], KEYS[2]]);
  });

  it('stops probing on close(), and close() may be called twice', async () => {
    rig = await startRig({ healthCheck: { intervalMs: 20 } });
    await rig.balancer.close();
    await rig.balancer.close();
    const seen = rig.fake.count(undefined, '/v1/models');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rig.fake.count(undefined, '/v1/models')).to.equal(seen);
  });
});

describe('a health probe Node cannot send', () => {
  it('counts as failed instead of an unhandled rejection', async () => {
    const { HealthChecker } = await import('../../lib/upstream/health-checker.js');
    const { KeyPool } = await import('../../lib/pool/pool.js');
    const { requestTarget } = await import('../../lib/upstream/target.js');
    const http = await import('node:http');
    // Built past the option checks on purpose: a key with a zero-width space.
    const pool = new KeyPool(
      [
        {
          key: 'ms-bad\u200bkey-aaaa-4bbb-8ccc-000000000001',
          label: 'bad',
          weight: 1,
          account: 'a',
          ownAccount: false,
        },
      ],
      {
        strategy: 'round-robin',
        failureThreshold: 3,
        cooldownBaseMs: 1000,
        cooldownMaxMs: 2000,
        invalidKeyRetryMs: 1000,
        resetTimeZone: 'UTC',
        resetMinutes: 0,
        now: Date.now,
      },
      { transition() {}, exhausted() {}, throttled() {} },
    );
    const results: string[] = [];
    const checker = new HealthChecker({
      pool,
      target: requestTarget(new URL('http://127.0.0.1:9')),
      agent: new http.Agent(),
      options: { path: '/v1/models', intervalMs: 60_000, timeoutMs: 100, concurrency: 1 },
      now: Date.now,
      onProbe: (_entry, result) => results.push(result),
    });
    await checker.runRound();
    await checker.stop();
    expect(results).to.deep.equal(['failed']);
  });
});
