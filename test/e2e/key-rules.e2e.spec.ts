// The second hostile review (issue 21): no single bad key, label, weight or
// membership change may take the pool down. Numbered as the review's findings.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { standingAlone } from '../../lib/express/router.js';
import { silentLogger } from '../../lib/observe/logger.js';
import { BalanceConfigError, KeyChangeError, modelscopeBalance, STRATEGIES, type Balancer } from '../../lib/index.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, assertNoKeyIn, chat, startRig, testKey, waitFor, type Rig } from '../helpers.js';

const ADMIN = 'admin-token-for-key-rules';
const auth = { authorization: `Bearer ${ADMIN}` };
const NEW_KEY = 'ms-44444444-aaaa-4bbb-8ccc-000000000004';

function refusal(run: () => unknown): BalanceConfigError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(BalanceConfigError);
    return error as BalanceConfigError;
  }
  throw new Error('expected a BalanceConfigError');
}

/** A key change's refusal: its own class, never a config error about an option. */
function keyRefusal(run: () => unknown): KeyChangeError {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(KeyChangeError);
    return error as KeyChangeError;
  }
  throw new Error('expected a KeyChangeError');
}

describe('issue 21: no single bad input takes the pool down', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  describe('1. a key must look like one, and a short one can never corrupt answers', () => {
    const notKeys: Array<[string, string]> = [
      ['a short word', 'data'],
      ['one letter', 'e'],
      ['half a token', KEYS[0].slice(0, 20)],
      ['KEY=value', `MODELSCOPE_API_KEY=${KEYS[0]}`],
      ['a JSON array', JSON.stringify(KEYS)],
      ['a token with a letter past f', 'ms-11111111-aaaa-4bbb-8ccc-00000000000g'],
    ];
    for (const [what, bad] of notKeys) {
      it(`refuses ${what} at construction, naming its position and never its text`, () => {
        const error = refusal(() => modelscopeBalance({ keys: [KEYS[0], bad], healthCheck: false }));
        expect([error.code, error.option]).to.deep.equal(['ERR_MSB_KEYS', 'keys[1]']);
        expect(error.message).to.include("keyFormat: 'any'");
        if (bad.length >= 4) expect(error.message).not.to.include(bad);
        assertNoKeyIn(error.message);
      });
    }

    it("keyFormat 'any' takes 16 to 256 characters of A-Z a-z 0-9 . _ - and nothing else", () => {
      const balancer = modelscopeBalance({ keys: ['sk-abc.DEF_ghi-123456'], keyFormat: 'any', healthCheck: false });
      expect(Object.keys(balancer.stats())).to.have.length(1);
      for (const [bad, why] of [
        ['sk-too-short', /is 12 characters long; a key has 16 to 256/],
        ['x'.repeat(257), /is 257 characters long/],
        ['sk-abc/def+ghi=jkl', /other than A-Z, a-z, 0-9, `.`, `_` or `-` at position 7/],
      ] as const) {
        expect(keyRefusal(() => balancer.addKey(bad)).message).to.match(why);
      }
      void balancer.close();
    });

    it('refuses a short key from addKey and POST /admin/keys, and SSE answers stay whole', async () => {
      rig = await startRig({ adminToken: ADMIN });
      expect(keyRefusal(() => rig!.balancer.addKey('a')).code).to.equal('ERR_MSB_KEY_INVALID');
      const res = await request(rig.app).post('/ms/admin/keys').set(auth).send({ key: 'data' });
      expect([res.status, res.body.error.code]).to.deep.equal([400, 'bad_request']);
      expect(res.body.error.message).to.include('`key` is not a ModelScope token (4 characters)');
      expect(Object.keys(rig.balancer.stats())).to.have.length(3);
      const streamed = await chat(rig.url, { stream: true });
      expect(streamed.body).to.match(/^data: \{"id":"chatcmpl/);
      expect(streamed.body).to.include('chat.completion.chunk');
    });

    it('forgets a removed key once the last answer on it has ended, not before', async () => {
      // Keys with no 12 characters in common, so each is matched by its own pieces only.
      const keys = ['ms-0a1b2c3d-4e5f-4061-8273-8495a6b7c8d9', 'ms-f0e1d2c3-b4a5-4968-8776-655443322110'];
      rig = await startRig({ keys }, { fake: { streamChunks: 6, streamIntervalMs: 40 } });
      const { scrubber } = rig.engine;
      const streaming = chat(rig.url, { stream: true });
      await waitFor(() => rig!.fake.received.length === 1);
      expect(rig.balancer.removeKey('ms-0a…c8d9')).to.equal(true);
      // Still scrubbed while its stream runs: an upstream may echo it to the very end.
      expect(scrubber.scrub(keys[0])).to.equal('[redacted]');
      expect((await streaming).body).to.include('data: [DONE]');
      await waitFor(() => scrubber.scrub(keys[0]) === keys[0]);
      expect(scrubber.scrub(keys[1])).to.equal('[redacted]');
    });
  });

  describe('4. key changes stay fast and labels stay reachable', () => {
    it('adds, removes and replaces keys in a pool of 2,000 at once (each change was quadratic)', async function () {
      // No timing is asserted (npm run bench measures); each addKey took seconds here before, so the old code ran past
      // mocha's timeout.
      this.timeout(10_000);
      const many = Array.from({ length: 2_000 }, (_, i) => testKey(i));
      rig = await startRig({ keys: many, strategy: 'weighted' });
      for (let i = 0; i < 10; i++)
        rig.balancer.addKey({ key: testKey(10_000 + i), label: `new${i}`, weight: 2, account: 'team' });
      for (let i = 0; i < 10; i++) expect(rig.balancer.removeKey(`ms-00…${testKey(i).slice(-4)}`)).to.equal(true);
      const change = rig.balancer.replaceKeys(many.slice(20));
      // The 10 removed by label stay removed; the 10 added at runtime go too (the pool becomes exactly the list).
      expect([change.kept.length, change.removed.length]).to.deep.equal([1_980, 20]);
      expect(Object.keys(rig.balancer.stats())).to.have.length(1_980);
      expect((await chat(rig.url)).status).to.equal(200);
    });

    it('replaceKeysGradually runs between requests, plans anew after a change, refuses cleanly', async function () {
      this.timeout(20_000);
      rig = await startRig();
      const { scrubber } = rig.engine;
      const many = Array.from({ length: 20_000 }, (_, i) => testKey(i, 'abcdef01'));
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      const replacing = rig.balancer.replaceKeysGradually(many, { keepAdded: true });
      // While it runs, requests are served and the pool changes: the plan is made again on the new pool.
      await new Promise((resolve) => setImmediate(resolve));
      expect((await chat(rig.url)).status).to.equal(200);
      rig.balancer.addKey({ key: NEW_KEY, label: 'during' });
      const change = await replacing;
      clearInterval(ticker);
      expect(ticks).to.be.greaterThan(2);
      expect([change.added.length, change.removed.length]).to.deep.equal([20_000, 3]);
      expect(Object.keys(rig.balancer.stats())).to.have.length(20_001);
      expect(scrubber.scrub(many[19_999])).to.equal('[redacted]');
      // Refused only once its new keys were indexed (a repeat is seen when the whole list is resolved).
      const refused = [...Array.from({ length: 5_000 }, (_, i) => testKey(i, 'fedcba98')), many[0], many[0]];
      const error = await rig.balancer.replaceKeysGradually(refused).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).to.be.instanceOf(KeyChangeError);
      expect((error as KeyChangeError).message).to.include('repeats keys[5000]');
      expect(Object.keys(rig.balancer.stats())).to.have.length(20_001);
      expect(scrubber.has(testKey(1, 'fedcba98'))).to.equal(false);
    });

    it('holds at most maxKeys keys: at construction, addKey, POST /admin/keys and replaceKeys', async () => {
      const tooMany = refusal(() => modelscopeBalance({ keys: KEYS, maxKeys: 2 }));
      expect([tooMany.code, tooMany.option]).to.deep.equal(['ERR_MSB_KEYS', 'keys']);
      expect(tooMany.message).to.include('holds 3 keys; maxKeys allows 2');
      expect(refusal(() => modelscopeBalance({ keys: KEYS, maxKeys: 1e9 })).option).to.equal('maxKeys');
      rig = await startRig({ maxKeys: 3, adminToken: ADMIN });
      expect(keyRefusal(() => rig!.balancer.addKey(NEW_KEY)).message).to.include('the pool holds maxKeys (3) keys');
      const res = await request(rig.app).post('/ms/admin/keys').set(auth).send({ key: NEW_KEY });
      expect([res.status, res.body.error.code]).to.deep.equal([400, 'bad_request']);
      expect(keyRefusal(() => rig!.balancer.replaceKeys([...KEYS, NEW_KEY])).code).to.equal('ERR_MSB_KEY_LIMIT');
      expect(Object.keys(rig.balancer.stats())).to.have.length(3);
    });

    const badLabels: Array<[string, unknown, RegExp]> = [
      ['65 characters', 'x'.repeat(65), /is 65 characters long; keep it to 64/],
      ['a 60 KB label', 'y'.repeat(60_000), /keep it to 64/],
      ['.', '.', /must not be `.` or `..`/],
      ['..', '..', /must not be `.` or `..`/],
      ['a lone surrogate', 'ab\ud800cd', /printable characters only/],
      ['a line break', 'a\nb', /printable characters only/],
      ['a zero-width space', 'a\u200bb', /printable characters only/],
      ['an empty string', '', /non-empty string/],
    ];
    for (const [what, label, why] of badLabels) {
      it(`refuses a label that is ${what}, in options, addKey and the admin API`, async () => {
        const atStart = refusal(() => modelscopeBalance({ keys: [{ key: KEYS[0], label: label as string }] }));
        expect([atStart.option, atStart.message]).to.satisfy(
          ([option, message]: [string, string]) => option === 'keys[0].label' && why.test(message),
        );
        rig = await startRig({ adminToken: ADMIN });
        expect(keyRefusal(() => rig!.balancer.addKey({ key: NEW_KEY, label: label as string })).field).to.equal(
          'label',
        );
        const res = await request(rig.app).post('/ms/admin/keys').set(auth).send({ key: NEW_KEY, label });
        expect(res.status).to.equal(400);
        expect(res.body.error.message).to.match(why);
        expect(Object.keys(rig.balancer.stats())).to.have.length(3);
      });
    }

    it('takes a 64-character label and any printable script, and can remove it over HTTP', async () => {
      rig = await startRig({ adminToken: ADMIN });
      for (const label of ['z'.repeat(64), 'équipe 東京 ✓', 'a/b']) {
        const added = await request(rig.app).post('/ms/admin/keys').set(auth).send({ key: NEW_KEY, label });
        expect(added.status).to.equal(201);
        await request(rig.app)
          .delete(`/ms/admin/keys/${encodeURIComponent(label)}`)
          .set(auth)
          .expect(200);
      }
    });
  });

  describe('5. a refused change leaves nothing behind, and an empty pool says so', () => {
    it('refuses weights over a million, or adding up past a million, leaving no ghost', async () => {
      rig = await startRig({ strategy: 'weighted', adminToken: ADMIN });
      expect(keyRefusal(() => rig!.balancer.addKey({ key: NEW_KEY, weight: 1e300 })).field).to.equal('weight');
      expect(keyRefusal(() => rig!.balancer.addKey({ key: NEW_KEY, weight: 1_000_001 })).field).to.equal('weight');
      const error = keyRefusal(() => rig!.balancer.addKey({ key: NEW_KEY, weight: 999_999 }));
      expect(error.message).to.include('keep the sum under 1000000');
      const overHttp = await request(rig.app).post('/ms/admin/keys').set(auth).send({ key: NEW_KEY, weight: 999_999 });
      expect(overHttp.status).to.equal(400);
      expect(Object.keys(rig.balancer.stats())).to.deep.equal(['ms-11…0001', 'ms-22…0002', 'ms-33…0003']);
      for (let i = 0; i < 6; i++) expect((await chat(rig.url)).status).to.equal(200);
      expect(rig.fake.count(NEW_KEY)).to.equal(0);
      // Not a ghost: the same key is added cleanly, and later changes work.
      expect(rig.balancer.addKey({ key: NEW_KEY, weight: 3 })).to.equal('ms-44…0004');
      expect(rig.balancer.removeKey('ms-11…0001')).to.equal(true);
      expect(rig.balancer.replaceKeys([KEYS[1], { key: NEW_KEY, weight: 2 }]).removed).to.deep.equal(['ms-33…0003']);
    });

    for (const strategy of STRATEGIES) {
      it(`${strategy}: with every key removed, requests get 503 no_keys and /health says so`, async () => {
        rig = await startRig({ strategy });
        for (const label of ['ms-11…0001', 'ms-22…0002', 'ms-33…0003']) rig.balancer.removeKey(label);
        const res = await chat(rig.url);
        expect(res.status).to.equal(503);
        expect(JSON.parse(res.body).error).to.deep.include({ code: 'no_keys' });
        expect(JSON.parse(res.body).error.message).to.match(/^The pool has no keys/);
        expect(res.headers['x-should-retry']).to.equal('false');
        const health = await request(rig.app).get('/ms/health').expect(503);
        expect(health.body).to.deep.equal({ status: 'unavailable', reason: 'no_keys', healthy_keys: 0, total_keys: 0 });
        expect(rig.balancer.addKey(NEW_KEY)).to.equal('ms-44…0004');
        expect((await chat(rig.url)).status).to.equal(200);
      });
    }
  });

  describe('6. membership changes keep requests’ bookkeeping', () => {
    it('a request never tries the same key twice when a key is removed during its failover', async () => {
      const keys = [testKey(1, 'aaaaaaaa'), testKey(2, 'bbbbbbbb'), testKey(3, 'cccccccc')];
      rig = await startRig({ keys });
      await chat(rig.url); // round robin: the next request starts on the second key
      rig.fake.behave(keys[1], () => {
        // Removing the key before it renumbered the entries after it (new objects), while the request held the old.
        rig!.balancer.removeKey('ms-aa…0001');
        return 'server-error';
      });
      const res = await chat(rig.url);
      expect(res.status).to.equal(200);
      expect(rig.fake.count(keys[1])).to.equal(1);
      expect(res.headers['x-modelscope-balance-attempts']).to.equal('2');
    });
  });

  describe('7. smaller findings', () => {
    let fake: FakeModelScope | undefined;
    let server: http.Server | undefined;
    let balancer: Balancer | undefined;
    afterEach(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await balancer?.close();
      await fake?.close();
      [server, balancer, fake] = [undefined, undefined, undefined];
    });

    it('works as a bare node:http handler: its routes, the proxy, and JSON for anything else', async () => {
      fake = await startFakeModelScope();
      const bare = modelscopeBalance({ keys: KEYS, target: fake.url, healthCheck: false });
      balancer = bare;
      server = http.createServer((req, res) => bare(req, res));
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await request(base).get('/health')).body.status).to.equal('ok');
      expect((await chat(base)).status).to.equal(200);
      expect((await request(base).get('/admin/keys')).body.error.code).to.equal('admin_disabled');
      // Without a `next`, Express's own Router threw on every request and the process died.
      const raw = await new Promise<string>((resolve) => {
        const socket = net.connect((server!.address() as AddressInfo).port, '127.0.0.1', () =>
          socket.write('OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
      });
      expect(raw).to.match(/^HTTP\/1.1 405/);
      expect(JSON.parse(raw.split('\r\n\r\n')[1]).error.code).to.equal('method_not_allowed');
      expect((await request(base).get('/health')).status).to.equal(200);
      // What no route answers (none of the balancer's does: the proxy takes everything) gets our own JSON 404, not a
      // throw: the same wrapper around a Router with no routes at all.
      const empty = standingAlone(express.Router(), silentLogger);
      const emptyServer = http.createServer((req, res) => (empty as unknown as http.RequestListener)(req, res));
      await new Promise<void>((resolve) => emptyServer.listen(0, '127.0.0.1', resolve));
      const unanswered = await request(emptyServer).get('/v1/models');
      emptyServer.close();
      expect([unanswered.status, unanswered.body.error.code]).to.deep.equal([404, 'not_found']);
      expect((await request(base).get('/health')).status).to.equal(200);
    });
  });
});
