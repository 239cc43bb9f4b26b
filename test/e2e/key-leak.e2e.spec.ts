import { expect } from 'chai';
import type express from 'express';
import { modelscopeBalance } from '../../lib/index.js';
import { loadSettings } from '../../example/load-settings.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import {
  KEYS,
  assertNoKeyIn,
  captureLogger,
  chat,
  request,
  startRig,
  waitFor,
  type RawResponse,
  type Rig,
} from '../helpers.js';

const ACCESS = 'client-token-for-leak-test';
const ADMIN = 'admin-token-for-leak-test';

describe('no key leaks, anywhere, over a broad scenario', function () {
  this.timeout(20_000);
  let rig: Rig;
  let bank: FakeModelScope | undefined;
  afterEach(async () => {
    await rig?.close();
    await bank?.close();
    bank = undefined;
  });

  it(
    'keeps every 12-character piece of every key out of responses, headers, logs, /stats, /metrics and ' + 'errors',
    async () => {
      const logger = captureLogger();
      const seen: string[] = [];
      const keep = (res: RawResponse) => {
        seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
        return res;
      };
      rig = await startRig({
        logger,
        accessTokens: [ACCESS],
        adminToken: ADMIN,
        failureThreshold: 1,
        retry: { attempts: 2 },
        timeouts: { firstByteMs: 150, idleMs: 150 },
        healthCheck: { intervalMs: 3_600_000, timeoutMs: 200 },
      });
      const auth = { authorization: `Bearer ${ACCESS}` };
      const admin = { authorization: `Bearer ${ADMIN}` };
      const behaviours = [
        'ok',
        'unauthorized',
        'rate-limited',
        'quota-exhausted',
        'server-error',
        'echo-token-error',
        'reset',
        'hang',
        'stream-break',
        'stream-stall',
        'body-break',
      ] as const;
      for (const behaviour of behaviours) {
        for (const key of KEYS) rig.fake.behave(key, behaviour);
        keep(await chat(rig.url, { model: 'm', messages: [] }, auth));
        keep(await chat(rig.url, { model: 'm', stream: true, messages: [] }, auth));
        rig.fake.reset();
      }
      rig.fake.behave(KEYS[1], 'echo-token-error');
      for (let i = 0; i < 4; i++) keep(await chat(rig.url, undefined, auth));
      keep(await chat(rig.url, undefined, { authorization: `Bearer ${KEYS[0]}` }));
      keep(await chat(rig.url));
      for (const key of KEYS) rig.fake.probe(key, 'fail');
      await rig.balancer.checkHealth();
      rig.fake.probe(KEYS[0], 'unauthorized');
      rig.fake.probe(KEYS[1], 'hang');
      await rig.balancer.checkHealth();
      rig.fake.reset();
      await rig.balancer.checkHealth();
      for (const path of ['/stats', '/metrics', '/health']) {
        keep(await request(rig.url + path));
        keep(await request(rig.url + path, { headers: admin }));
      }
      keep(await request(`${rig.url}/../x`, { headers: auth }));
      const errors: string[] = [];
      const attempts: Array<() => unknown> = [
        () => modelscopeBalance({ keys: [KEYS[0], KEYS[0]] }),
        () => modelscopeBalance({ keys: [{ key: KEYS[0], label: KEYS[0] }] }),
        () => modelscopeBalance({ keys: [{ key: KEYS[1], wieght: 1 } as never] }),
        () => modelscopeBalance({ keys: [KEYS[0]], target: KEYS[1] }),
        () => modelscopeBalance({ keys: [KEYS[0]], target: `https://u:${KEYS[0]}@api.example` }),
        () => modelscopeBalance({ keys: [KEYS[0]], quota: { balanceUrl: `https://api.example/b?k=${KEYS[0]}` } }),
        () => modelscopeBalance({ keys: [KEYS[0]], quota: { balanceUrl: KEYS[0] } }),
        () =>
          loadSettings({ MODELSCOPE_API_KEYS: `${KEYS.join(',')},your_api_key_1_here` }, [
            '--config',
            '/nonexistent/config.json',
          ]),
        () => loadSettings({ MODELSCOPE_API_KEYS: KEYS.join(','), PORT: KEYS[2] }, []),
        () => loadSettings({ MODELSCOPE_API_KEYS: `${KEYS.join(',')},your_api_key_1_here` }, []),
      ];
      for (const attempt of attempts) {
        try {
          attempt();
          errors.push('no error');
        } catch (error) {
          errors.push(`${(error as Error).message}\n${(error as Error).stack}`);
        }
      }
      expect(errors).not.to.include('no error');
      expect(seen.length).to.be.greaterThan(25);
      expect(logger.lines.length).to.be.greaterThan(25);
      expect(logger.lines.some((l) => l.level === 'warn')).to.equal(true);
      const everything = [
        ...seen,
        logger.text(),
        JSON.stringify(rig.balancer.stats()),
        await rig.balancer.registry.metrics(),
        ...errors,
      ].join('\n');
      assertNoKeyIn(everything);
      assertNoKeyIn(everything, [ACCESS, ADMIN]);
    },
  );

  it('keeps keys out of what the paths without counters say: unknown 403s, balances, used-up answers', async () => {
    const logger = captureLogger();
    bank = await startFakeModelScope();
    bank.points(KEYS[0], { daily: 250, left: 0 });
    rig = await startRig(
      { logger, adminToken: ADMIN, quota: { balanceUrl: bank.balanceUrl, balanceIntervalMs: 100 } },
      { fake: { counters: false } },
    );
    rig.fake.behave(KEYS[1], { status: 403, body: { errors: { message: `${KEYS[1]} is suspended` } } });
    rig.fake.behave(KEYS[2], 'balance-exhausted');
    await waitFor(() => Object.values(rig.balancer.stats())[0].exhaustion?.source === 'balance');
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await chat(rig.url);
      seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
    }
    await waitFor(() => logger.lines.some((l) => /balance of key .* could not be read/.test(l.msg ?? '')));
    expect(logger.lines.some((l) => /does not know/.test(l.msg ?? ''))).to.equal(true);
    expect(seen.some((answer) => answer.includes('daily_quota_exhausted'))).to.equal(true);
    const admin = { authorization: `Bearer ${ADMIN}` };
    for (const path of ['/stats', '/metrics', '/status', '/status/data']) {
      seen.push((await request(rig.url + path, { headers: admin })).body);
    }
    assertNoKeyIn([...seen, logger.text(), JSON.stringify(rig.balancer.stats())].join('\n'));
  });

  it("leaves the host app the client's own headers: a logger after the answer never sees a pool key", async () => {
    const hostSaw: Array<Record<string, unknown>> = [];
    const logHeaders: express.RequestHandler = (req, res, next) => {
      res.once('finish', () => hostSaw.push({ ...req.headers }));
      next();
    };
    rig = await startRig({ retry: { attempts: 3 } }, { before: [logHeaders] });
    rig.fake.behave(KEYS[0], 'rate-limited');
    rig.fake.behave(KEYS[1], 'server-error');
    for (let i = 0; i < 6; i++) {
      const res = await chat(rig.url, { model: 'm', messages: [] }, { authorization: 'Bearer client-own' });
      expect(res.status).to.equal(200);
    }
    expect(hostSaw).to.have.length(6);
    for (const headers of hostSaw) {
      expect(headers.authorization).to.equal('Bearer client-own');
      expect(headers['accept-encoding']).not.to.equal('identity');
    }
    assertNoKeyIn(JSON.stringify(hostSaw));
  });
});
