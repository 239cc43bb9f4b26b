import { expect } from 'chai';
import request from 'supertest';
import { KEYS, assertNoKeyIn, chat, startRig, type Rig } from '../helpers.js';

describe('/stats and /health', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it("/stats keeps the seed's shape: an object keyed by masked label with healthy, last_used, requests", async () => {
    rig = await startRig();
    let res = await request(rig.app).get('/ms/stats').expect(200);
    const labels = Object.keys(res.body);
    expect(labels).to.have.length(3);
    for (const label of labels) {
      expect(res.body[label]).to.include({ healthy: true, last_used: null, requests: 0 });
    }
    await chat(rig.url);
    res = await request(rig.app).get('/ms/stats').expect(200);
    const first = res.body[labels[0]];
    expect(first.requests).to.equal(1);
    expect(new Date(first.last_used).toISOString()).to.equal(first.last_used);
    expect(first).to.include.keys(
      'state',
      'cooldown_until',
      'consecutive_failures',
      'in_flight',
      'last_error',
      'quota',
    );
    assertNoKeyIn(JSON.stringify(res.body) + labels.join(','));
  });

  it('/health says ok with counts while a key is usable', async () => {
    rig = await startRig();
    const res = await request(rig.app).get('/ms/health').expect(200);
    expect(res.body).to.deep.equal({ status: 'ok', healthy_keys: 3, total_keys: 3 });
  });

  it("uses a key's own label when given", async () => {
    rig = await startRig({ keys: [{ key: KEYS[0], label: 'alice' }, KEYS[1]] });
    const res = await request(rig.app).get('/ms/stats').expect(200);
    expect(Object.keys(res.body)).to.deep.equal(['alice', 'ms-22…0002']);
  });

  it('/stats and /status answer 200 whatever times a key holds', async () => {
    rig = await startRig();
    const [first, second] = rig.engine.pool.entries;
    Object.assign(first.state, { status: 'cooling', until: 1e300, lastError: { status: 500, reason: 'x', at: 1e300 } });
    Object.assign(second.account, { overall: { limit: 1, remaining: 0, seenAt: -1e300, staleAt: 1e300 } });
    await request(rig.app).get('/ms/stats').expect(200);
    await request(rig.app).get('/ms/status').expect(200);
    await request(rig.app).get('/ms/status/data').expect(200);
  });
});
