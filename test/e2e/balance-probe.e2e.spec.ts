import { expect } from 'chai';
import request from 'supertest';
import { BALANCE_PATH } from '../../lib/testing/fake-modelscope.js';
import { startFakeModelScope, type FakeModelScope } from '../../lib/testing/index.js';
import { KEYS, assertNoKeyIn, captureLogger, chat, startRig, waitFor, type Rig } from '../helpers.js';

describe('the balance probe (quota.balanceUrl)', () => {
  let rig: Rig | undefined;
  let bank: FakeModelScope | undefined;
  afterEach(async () => {
    await rig?.close();
    await bank?.close();
    rig = bank = undefined;
  });
  const stat = (i: number) => Object.values((rig as Rig).balancer.stats())[i];

  it('reads balances at their own host only, holds a zero balance as used up, frees it when topped up', async () => {
    // The balance is served by another host than the target: the key goes there, and only there.
    bank = await startFakeModelScope();
    bank.points(KEYS[0], { daily: 2, left: 0 }).points(KEYS[1], { daily: 250 });
    const logger = captureLogger();
    rig = await startRig({ logger, quota: { balanceUrl: bank.balanceUrl, balanceIntervalMs: 150 } });
    await waitFor(() => stat(0).state === 'exhausted' && stat(1).quota.balance?.available === 250);
    expect(stat(0).exhaustion).to.include({ source: 'balance' });
    expect(stat(0).quota.balance).to.deep.include({ available: 0, total: 2, frozen: 0, trusted: true });
    await waitFor(() =>
      logger.lines.some((line) => /balance of key .* could not be read \(answered 404\)/.test(line.msg ?? '')),
    );

    for (let i = 0; i < 4; i++) expect((await chat(rig.url)).status).to.equal(200);
    expect(rig.fake.count(KEYS[0])).to.equal(0);
    const metrics = (await request(rig.app).get('/ms/metrics')).text;
    const [first, second] = Object.keys(rig.balancer.stats());
    expect(metrics).to.include(`modelscope_balance_key_balance_available{key="${first}"} 0`);
    expect(metrics).to.include(`modelscope_balance_key_balance_available{key="${second}"} 250`);
    const page = (await request(rig.app).get('/ms/status/data').expect(200)).body;
    expect(page.view.keys[0]).to.deep.include({ balance: 0 });
    expect(page.view.keys[0].exhaustion).to.include({ source: 'balance' });

    bank.newDay();
    await waitFor(() => stat(0).state === 'healthy');
    expect(stat(0).exhaustion).to.equal(null);

    // Only GETs of the balance path reached the bank, each with one pool key as a Bearer token.
    expect(bank.received.length).to.be.greaterThan(3);
    for (const received of bank.received) {
      expect(received.method).to.equal('GET');
      expect(received.url).to.equal(BALANCE_PATH);
      expect(KEYS).to.include(received.key);
    }
    expect(rig.fake.received.some((received) => received.url.startsWith(BALANCE_PATH))).to.equal(false);
    assertNoKeyIn(logger.text());
    assertNoKeyIn(JSON.stringify(rig.balancer.stats()) + metrics);

    // close() stops the probe: no balance request after it.
    await rig.close();
    rig = undefined;
    const after = bank.received.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(bank.received.length).to.equal(after);
  });

  it('asks one key per account, and nothing at all without a balanceUrl', async () => {
    bank = await startFakeModelScope();
    rig = await startRig({
      keys: [{ key: KEYS[0], account: 'team' }, { key: KEYS[1], account: 'team' }, KEYS[2]],
      quota: { balanceUrl: bank.balanceUrl, balanceIntervalMs: 100 },
    });
    await waitFor(() => bank!.received.length >= 6);
    expect(new Set(bank.received.map((received) => received.key))).to.deep.equal(new Set([KEYS[0], KEYS[2]]));
    await rig.close();
    // A slow round (an hour between rounds, so half an hour between its probes) is ended by close() at once.
    rig = await startRig({ quota: { balanceUrl: bank.balanceUrl, balanceIntervalMs: 3_600_000 } });
    await waitFor(() => bank!.received.length >= 7);
    const started = performance.now();
    await rig.close();
    expect(performance.now() - started).to.be.below(1_000);
    rig = await startRig();
    await chat(rig.url);
    expect(rig.fake.received.map((received) => received.url)).to.deep.equal(['/v1/chat/completions']);
  });
});
