import { expect } from 'chai';
import request from 'supertest';
import { BalanceConfigError, modelscopeBalance } from '../../lib/index.js';
import { KEYS, captureLogger, chat, startRig, waitFor, type Rig } from '../helpers.js';

const ADMIN = 'admin-token-for-routes-0001';

describe('the balancer’s own routes: switches, and never forwarded', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('answers 404 not_found for an unknown path under its own routes, with no upstream call', async () => {
    rig = await startRig({ adminToken: ADMIN });
    for (const path of ['/status/nothing', '/status/x/y', '/stats/more', '/metrics/x', '/health/x']) {
      const res = await request(rig.app).get(`/ms${path}`).set('authorization', `Bearer ${ADMIN}`);
      expect([path, res.status, res.body.error?.code]).to.deep.equal([path, 404, 'not_found']);
    }
    const admin = await request(rig.app).get('/ms/admin/nothing').set('authorization', `Bearer ${ADMIN}`);
    expect([admin.status, admin.body.error.code]).to.deep.equal([404, 'not_found']);
    const posted = await request(rig.app).post('/ms/stats').send({});
    expect([posted.status, posted.body.error.code, posted.headers.allow]).to.deep.equal([
      405,
      'method_not_allowed',
      'GET, HEAD',
    ]);
    expect(rig.fake.received).to.have.length(0);
  });

  it('switches each route off: 404, never forwarded; the others and the proxy keep working', async () => {
    const off = { stats: false, health: false, metrics: false, status: false, admin: false };
    rig = await startRig({ routes: off, adminToken: ADMIN });
    for (const path of ['/stats', '/health', '/metrics', '/status', '/status/data', '/admin/keys']) {
      const res = await request(rig.app).get(`/ms${path}`).set('authorization', `Bearer ${ADMIN}`);
      expect([path, res.status, res.body.error?.code]).to.deep.equal([path, 404, 'not_found']);
      expect(res.body.error.message).to.include('switched off');
    }
    expect(rig.fake.received).to.have.length(0);
    expect((await chat(rig.url)).status).to.equal(200);
  });

  it('serves the routes left on', async () => {
    rig = await startRig({ routes: { stats: false, admin: false } });
    await request(rig.app).get('/ms/health').expect(200);
    await request(rig.app).get('/ms/metrics').expect(200);
    await request(rig.app).get('/ms/status').expect(200);
    await request(rig.app).get('/ms/stats').expect(404);
  });

  it('refuses a route switch that is not a boolean, and a route it does not know', () => {
    for (const [routes, option] of [
      [{ stats: 'no' }, 'routes.stats'],
      [{ statz: false }, 'routes.statz'],
      [false, 'routes'],
    ] as const) {
      try {
        modelscopeBalance({ keys: KEYS, routes: routes as never });
        expect.fail('should throw');
      } catch (error) {
        expect(error).to.be.instanceOf(BalanceConfigError);
        expect((error as BalanceConfigError).option).to.equal(option);
      }
    }
  });
});

describe('handles: labels(), checkHealth(), and what is no longer an option', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('labels() lists the pool’s labels in order, following changes', async () => {
    rig = await startRig({ keys: [{ key: KEYS[0], label: 'alice' }, KEYS[1]] });
    expect(rig.balancer.labels()).to.deep.equal(['alice', 'ms-22…0002']);
    rig.balancer.addKey({ key: KEYS[2], label: 'carol' });
    rig.balancer.removeKey('alice');
    expect(rig.balancer.labels()).to.deep.equal(['ms-22…0002', 'carol']);
  });

  it('checkHealth() probes every key now even with periodic checks off, and heals an unhealthy key', async () => {
    rig = await startRig({ healthCheck: false, failureThreshold: 1 });
    rig.fake.behave(KEYS[0], 'server-error');
    await chat(rig.url);
    rig.fake.behave(KEYS[0], 'ok');
    expect(rig.balancer.stats()['ms-11…0001'].state).to.equal('unhealthy');
    expect(rig.fake.count(undefined, '/v1/models')).to.equal(0);
    await rig.balancer.checkHealth();
    // The key that just served a request needs no probe; the others are probed.
    expect(rig.fake.count(undefined, '/v1/models')).to.be.at.least(2);
    expect(rig.fake.count(KEYS[0], '/v1/models')).to.equal(1);
    expect(rig.balancer.stats()['ms-11…0001'].state).to.equal('healthy');
  });

  it('`now` is no option: the clock is a test hook of the engine, never of the public options', () => {
    try {
      modelscopeBalance({ keys: KEYS, now: () => 0 } as never);
      expect.fail('should throw');
    } catch (error) {
      expect(error).to.be.instanceOf(BalanceConfigError);
      expect((error as BalanceConfigError).code).to.equal('ERR_MSB_UNKNOWN_OPTION');
    }
  });

  it('takes a logger with only some of its methods: the levels it has are written, the rest dropped', async () => {
    const full = captureLogger();
    rig = await startRig({ logger: { warn: full.warn }, cooldown: { baseMs: 60_000, maxMs: 60_000 } });
    rig.fake.behave(KEYS[0], 'rate-limited');
    expect((await chat(rig.url)).status).to.equal(200);
    await waitFor(() => full.lines.some((line) => /is cooling/.test(line.msg ?? '')));
    // No info level given: no request line, and nothing thrown for its absence.
    expect(full.lines.every((line) => line.level === 'warn')).to.equal(true);
  });
});
