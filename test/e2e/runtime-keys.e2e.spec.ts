import { expect } from 'chai';
import request from 'supertest';
import { KeyChangeError } from '../../lib/index.js';
import { KEYS, assertNoKeyIn, captureLogger, chat, startRig, waitFor, type Rig } from '../helpers.js';

const NEW_KEY = 'ms-44444444-aaaa-4bbb-8ccc-000000000004';
const ALL = [...KEYS, NEW_KEY];
const ADMIN = 'admin-token-for-tests-0001';

describe('keys changed at runtime', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const labels = () => Object.keys(rig.balancer.stats());

  describe('library methods', () => {
    it(
      'addKey returns the label and the key takes traffic at once; a duplicate or malformed key throws without ' +
        'quoting it',
      async () => {
        rig = await startRig();
        const label = rig.balancer.addKey({ key: NEW_KEY, weight: 1 });
        expect(label).to.equal('ms-44…0004');
        for (let i = 0; i < 4; i++) await chat(rig.url);
        expect(rig.fake.count(NEW_KEY)).to.equal(1);
        for (const bad of [KEYS[0], 'ms-bad\u200bkey-aaaa-4bbb-8ccc-000000000009', '']) {
          try {
            rig.balancer.addKey(bad);
            expect.fail('should throw');
          } catch (error) {
            expect(error).to.be.instanceOf(KeyChangeError);
            assertNoKeyIn((error as Error).message, [...ALL, 'ms-bad\u200bkey-aaaa-4bbb-8ccc-000000000009']);
          }
        }
        expect(labels()).to.have.length(4);
      },
    );

    it('removeKey: no new request uses it, a stream under way on it completes, its metric series go', async () => {
      rig = await startRig({}, { fake: { streamChunks: 8, streamIntervalMs: 40 } });
      const streaming = chat(rig.url, { stream: true });
      await waitFor(() => rig.fake.received.length === 1);
      expect(rig.balancer.removeKey('ms-11…0001')).to.equal(true);
      expect(rig.balancer.removeKey('ms-11…0001')).to.equal(false);
      for (let i = 0; i < 4; i++) expect((await chat(rig.url)).status).to.equal(200);
      const streamed = await streaming;
      expect(streamed.body).to.include('data: [DONE]');
      expect(rig.fake.count(KEYS[0])).to.equal(1);
      const metrics = (await request(rig.app).get('/ms/metrics')).text;
      expect(metrics).not.to.include('ms-11…0001');
    });

    it(
      'disableKey holds a key (state disabled in /stats and the metrics, no traffic, no probes) until ' + 'enableKey',
      async () => {
        rig = await startRig({ healthCheck: { intervalMs: 3_600_000 } });
        await waitFor(() => rig.fake.count(undefined, '/v1/models') === 3);
        expect(rig.balancer.disableKey('ms-22…0002')).to.equal(true);
        for (let i = 0; i < 6; i++) await chat(rig.url);
        expect(rig.fake.count(KEYS[1])).to.equal(0);
        expect(rig.balancer.stats()['ms-22…0002']).to.include({ state: 'disabled', healthy: false });
        await rig.balancer.checkHealth();
        expect(rig.fake.count(KEYS[1], '/v1/models')).to.equal(1);
        const metrics = (await request(rig.app).get('/ms/metrics')).text;
        expect(metrics).to.include('modelscope_balance_key_state{key="ms-22…0002",state="disabled"} 1');
        expect(rig.balancer.enableKey('ms-22…0002')).to.equal(true);
        for (let i = 0; i < 3; i++) await chat(rig.url);
        expect(rig.fake.count(KEYS[1])).to.equal(1);
      },
    );

    it('replaceKeys keeps the state and counts of kept keys, adds and removes the rest', async () => {
      rig = await startRig();
      for (let i = 0; i < 3; i++) await chat(rig.url);
      const change = rig.balancer.replaceKeys([KEYS[1], KEYS[2], NEW_KEY]);
      expect(change).to.deep.equal({
        added: ['ms-44…0004'],
        removed: ['ms-11…0001'],
        kept: ['ms-22…0002', 'ms-33…0003'],
      });
      expect(rig.balancer.stats()['ms-22…0002'].requests).to.equal(1);
      expect(() => rig.balancer.replaceKeys([KEYS[1], KEYS[1]])).to.throw(KeyChangeError);
      expect(labels()).to.deep.equal(['ms-22…0002', 'ms-33…0003', 'ms-44…0004']);
    });

    it('fails no request while keys are replaced under continuous traffic', async () => {
      rig = await startRig({}, { fake: { streamChunks: 3, streamIntervalMs: 5 } });
      let stop = false;
      const statuses: number[] = [];
      const worker = async () => {
        while (!stop) {
          const res = await chat(rig.url, { stream: statuses.length % 2 === 0 });
          statuses.push(res.status);
          if (!res.body.includes('chatcmpl')) statuses.push(-1);
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      const sets = [[KEYS[0], NEW_KEY], [NEW_KEY, KEYS[2]], KEYS, [KEYS[1]], ALL];
      for (const set of sets) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        rig.balancer.replaceKeys(set);
      }
      stop = true;
      await Promise.all(workers);
      expect(statuses.length).to.be.greaterThan(20);
      expect(statuses.filter((s) => s !== 200)).to.deep.equal([]);
      await waitFor(() => Object.values(rig.balancer.stats()).every((s) => s.in_flight === 0));
    });
  });

  describe('the admin API', () => {
    it('answers 403 saying to set adminToken when there is none', async () => {
      rig = await startRig();
      const res = await request(rig.app).get('/ms/admin/keys').expect(403);
      expect(res.body.error.code).to.equal('admin_disabled');
      expect(res.body.error.message).to.include('adminToken');
      expect(rig.fake.received).to.have.length(0);
    });

    it('needs the admin token (401 otherwise)', async () => {
      rig = await startRig({ adminToken: ADMIN });
      await request(rig.app).get('/ms/admin/keys').expect(401);
      await request(rig.app).get('/ms/admin/keys').set('authorization', 'Bearer wrong').expect(401);
    });

    it('lists, adds, holds, releases, checks and removes keys, and never echoes a key', async () => {
      const logger = captureLogger();
      rig = await startRig({ adminToken: ADMIN, logger, replicaId: 'r1' });
      const here = { scope: 'this replica', replica: 'r1' };
      const auth = { authorization: `Bearer ${ADMIN}` };
      const seen: string[] = [];
      const call = async (method: 'get' | 'post' | 'delete', path: string, body?: object) => {
        const req = request(rig.app)[method](`/ms/admin${path}`).set(auth);
        const res = body ? await req.send(body) : await req;
        seen.push(JSON.stringify(res.body) + JSON.stringify(res.headers));
        return res;
      };
      expect(Object.keys((await call('get', '/keys')).body)).to.have.length(3);
      const added = await call('post', '/keys', { key: NEW_KEY, label: 'dave', weight: 2, account: 'team' });
      expect([added.status, added.body]).to.deep.equal([201, { label: 'dave', ...here }]);
      expect((await call('post', '/keys', { key: NEW_KEY })).status).to.equal(409);
      expect((await call('post', '/keys', { nokey: true })).status).to.equal(400);
      expect((await call('post', '/keys', { key: 'has space' })).status).to.equal(400);
      expect((await call('post', '/keys/dave/disable')).body).to.deep.equal({ label: 'dave', disabled: true, ...here });
      expect((await call('get', '/keys')).body.dave.state).to.equal('disabled');
      expect((await call('post', '/keys/dave/enable')).body).to.deep.equal({ label: 'dave', disabled: false, ...here });
      const check = await call('post', '/keys/dave/check');
      expect(check.body).to.deep.equal({ label: 'dave', result: 'ok', state: 'healthy' });
      expect(rig.fake.received.some((r) => r.key === NEW_KEY && r.url === '/v1/models')).to.equal(true);
      expect((await call('delete', '/keys/dave')).body).to.deep.equal({ removed: 'dave', ...here });
      expect((await call('delete', '/keys/dave')).status).to.equal(404);
      expect((await call('post', '/keys/nobody/check')).status).to.equal(404);
      expect((await call('get', '/elsewhere')).status).to.equal(404);
      assertNoKeyIn(seen.join('\n') + logger.text(), ALL);
      expect(logger.lines.filter((l) => /key dave (added|removed|disabled|enabled)/.test(l.msg ?? ''))).to.have.length(
        4,
      );
    });
  });
});
