import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import express4 from 'express4';
import request from 'supertest';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { ProxyFactory } from '../../lib/upstream/upstream-proxy.js';
import { modelscopeBalance, type Balancer } from '../../lib/index.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, chat, listen, startRig, type Rig } from '../helpers.js';

/** http-proxy-middleware's own factory, counting the handlers it makes and the calls into them. */
function spyProxyFactory() {
  const spy = { handlers: 0, calls: 0 };
  const factory: ProxyFactory = (options) => {
    spy.handlers++;
    const middleware = createProxyMiddleware(options);
    return Object.assign(
      (...args: Parameters<typeof middleware>) => {
        spy.calls++;
        return middleware(...args);
      },
      { upgrade: middleware.upgrade },
    );
  };
  return { spy, factory };
}

describe('the design card: an Express Router, http-proxy-middleware for every attempt', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('modelscopeBalance() returns an Express Router that serves GET /health, /stats and /metrics itself', async () => {
    rig = await startRig();
    for (const method of ['use', 'get', 'post', 'route', 'handle'] as const)
      expect(typeof (rig.balancer as unknown as Record<string, unknown>)[method], method).to.equal('function');
    const health = await request(rig.app).get('/ms/health').expect(200);
    expect(health.body).to.include({ status: 'ok', total_keys: 3 });
    const stats = await request(rig.app).get('/ms/stats').expect(200);
    expect(Object.keys(stats.body)).to.have.length(3);
    const metrics = await request(rig.app).get('/ms/metrics').expect(200);
    expect(metrics.headers['content-type']).to.match(/^text\/plain/);
    expect(metrics.text).to.include('modelscope_balance_key_healthy');
    // Answered by the balancer's own routes: nothing went upstream.
    expect(rig.fake.received).to.have.length(0);
    expect(typeof rig.balancer.stats).to.equal('function');
    expect(typeof rig.balancer.close).to.equal('function');
    expect(rig.balancer.registry).to.have.property('metrics');
  });

  it('sends every attempt, failover included, through one http-proxy-middleware handler', async () => {
    const { spy, factory } = spyProxyFactory();
    rig = await startRig({ createProxyMiddleware: factory });
    rig.fake.behave(KEYS[0], 'rate-limited');
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    expect(rig.fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
    expect(spy).to.deep.equal({ handlers: 1, calls: 2 });
  });

  it('proxies a client that sends Expect: 100-continue with the pool key and the whole body', async () => {
    rig = await startRig();
    const body = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${rig!.url}/v1/echo`,
        {
          method: 'POST',
          agent: false,
          headers: {
            expect: '100-continue',
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: 'Bearer client-own-token',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('continue', () => req.end(body));
      req.on('error', reject);
    });
    expect(status).to.equal(200);
    const received = rig.fake.received[0];
    expect(received.key).to.equal(KEYS[0]);
    expect(received.body.toString()).to.equal(body);
    expect(received.headers).not.to.have.property('expect');
    expect(JSON.stringify(received.headers)).not.to.include('client-own-token');
  });

  it('tells a first-byte timeout (504) from a reset (502) although http-proxy reports both as resets', async () => {
    rig = await startRig({ timeouts: { firstByteMs: 120 }, retry: { attempts: 1 } });
    rig.fake.behave(KEYS[0], 'hang');
    rig.fake.behave(KEYS[1], 'reset');
    const timedOut = await request(rig.app).get('/ms/v1/models-list');
    const reset = await request(rig.app).get('/ms/v1/models-list');
    expect([timedOut.status, timedOut.body.error.code]).to.deep.equal([504, 'upstream_timeout']);
    expect([reset.status, reset.body.error.code]).to.deep.equal([502, 'upstream_unreachable']);
  });

  it('explains app.use(modelscopeBalance) without a call', async () => {
    const app = express();
    app.use(modelscopeBalance as unknown as express.RequestHandler);
    app.use(
      (error: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).json({ code: error.code, message: error.message });
      },
    );
    const res = await request(app).get('/v1/models').expect(500);
    expect(res.body.code).to.equal('ERR_MSB_NOT_CALLED');
    expect(res.body.message).to.include('app.use(modelscopeBalance({ keys: [...] }))');
  });

  it('turns a route that throws into a JSON 500 and keeps serving', async () => {
    // A clock that throws on demand: /health reads it for every key.
    let broken = false;
    const now = () => {
      if (broken) throw new RangeError('Invalid time value');
      return Date.now();
    };
    rig = await startRig({ now });
    broken = true;
    const res = await request(rig.app).get('/ms/health').expect(500);
    expect(res.body.error.code).to.equal('internal_error');
    broken = false;
    await request(rig.app).get('/ms/health').expect(200);
  });

  describe('under Express 4', () => {
    let fake: FakeModelScope;
    let server: http.Server;
    let balancer: Balancer;
    before(async () => {
      fake = await startFakeModelScope();
      balancer = modelscopeBalance({ keys: KEYS, target: fake.url, healthCheck: false });
      const app = express4();
      app.use(express4.json());
      app.use('/ms', balancer as unknown as express4.RequestHandler);
      server = await listen(app);
    });
    after(async () => {
      server.closeAllConnections();
      server.close();
      await balancer.close();
      await fake.close();
    });

    it('mounts, proxies with failover, and serves /stats and /health', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ms`;
      fake.behave(KEYS[0], 'server-error');
      const res = await chat(url);
      expect(res.status).to.equal(200);
      expect(JSON.parse(res.body).choices[0].message.content).to.be.a('string');
      expect(fake.received.map((r) => r.key)).to.deep.equal([KEYS[0], KEYS[1]]);
      const stats = await request(server).get('/ms/stats').expect(200);
      expect(Object.keys(stats.body)).to.have.length(3);
      await request(server).get('/ms/health').expect(200);
    });
  });
});
