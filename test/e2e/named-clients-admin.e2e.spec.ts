import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import request from 'supertest';
import { ClientChangeError, modelscopeBalance } from '../../lib/index.js';
import { KEYS, chat, serveReplica, startRig, type Rig } from '../helpers.js';
import { startFakeModelScope } from '../../lib/testing/index.js';

const ADMIN = 'admin-token-0123456789abcdef';
const RESEARCH = 'research-token-0123456789abcdef';
const NEW = 'new-client-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('named clients: the admin API and the handles', function () {
  this.timeout(15_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('GET /admin/clients lists every client with limits, requests under way and figures, never a token', async () => {
    rig = await startRig({
      adminToken: ADMIN,
      clients: [{ name: 'research', token: RESEARCH, dailyRequests: 5, models: ['a/b'] }],
    });
    await chat(rig.url, { model: 'a/b', messages: [] }, bearer(RESEARCH));
    const list = await request(rig.url).get('/admin/clients').set(admin).expect(200);
    expect(list.body.clients[0]).to.deep.include({
      name: 'research',
      limits: { dailyRequests: 5, requestsPerMinute: null, maxInFlight: null, models: ['a/b'] },
      in_flight: 0,
    });
    expect(list.body.clients[0].usage).to.include({ requests: 1, remaining: 4 });
    expect(JSON.stringify(list.body)).not.to.include(RESEARCH.slice(0, 12));
    await request(rig.url).get('/admin/clients').expect(401);
  });

  it('/status shows a table of clients with a bar per daily budget, and /status/data refreshes it', async () => {
    rig = await startRig({
      adminToken: ADMIN,
      clients: [
        { name: 'research', token: RESEARCH, dailyRequests: 5, maxInFlight: 2 },
        { name: 'ci', token: NEW },
      ],
    });
    await chat(rig.url, undefined, bearer(RESEARCH));
    const page = await request(rig.url).get('/status').set(admin).expect(200);
    expect(page.text).to.include('<tr data-client="research">');
    expect(page.text).to.include('<progress max="5" value="1"></progress> <span>1 / 5</span>');
    expect(page.text).to.include('<tr data-client="ci">').and.include('(no daily limit)');
    await chat(rig.url, undefined, bearer(RESEARCH));
    const data = await request(rig.url).get('/status/data').set(admin).expect(200);
    expect(data.body.html.clients).to.include('<progress max="5" value="2">');
    expect(page.text + JSON.stringify(data.body))
      .not.to.include(RESEARCH.slice(0, 12))
      .and.not.include(NEW.slice(0, 12));
  });

  it('POST adds a client (201, usable at once), 409 for a taken name, 400 naming the field for a bad one', async () => {
    rig = await startRig({ adminToken: ADMIN, clients: [] });
    const added = await request(rig.url).post('/admin/clients').set(admin).send({ name: 'ci', token: NEW }).expect(201);
    expect(added.body).to.include({ name: 'ci', scope: 'this replica' });
    expect((await chat(rig.url, undefined, bearer(NEW))).status).to.equal(200);
    const taken = await request(rig.url)
      .post('/admin/clients')
      .set(admin)
      .send({ name: 'ci', token: `${NEW}x` });
    expect([taken.status, taken.body.error.code]).to.deep.equal([409, 'client_exists']);
    const bad = await request(rig.url)
      .post('/admin/clients')
      .set(admin)
      .send({ name: 'x', token: NEW, maxInflight: 1 });
    expect([bad.status, bad.body.error.code]).to.deep.equal([400, 'bad_request']);
    expect(bad.body.error.message)
      .to.include('maxInflight')
      .and.include('maxInFlight')
      .and.not.include(NEW.slice(0, 12));
    const sameToken = await request(rig.url).post('/admin/clients').set(admin).send({ name: 'x', token: NEW });
    expect(sameToken.status).to.equal(400);
    expect(sameToken.body.error.message).not.to.include(NEW.slice(0, 12));
  });

  it('PATCH changes limits (null removes one), DELETE removes the client: its token gets 401', async () => {
    rig = await startRig({ adminToken: ADMIN, clients: [{ name: 'research', token: RESEARCH, dailyRequests: 1 }] });
    expect((await chat(rig.url, undefined, bearer(RESEARCH))).status).to.equal(200);
    expect((await chat(rig.url, undefined, bearer(RESEARCH))).status).to.equal(429);
    const changed = await request(rig.url)
      .patch('/admin/clients/research')
      .set(admin)
      .send({ dailyRequests: 2, maxInFlight: 3 })
      .expect(200);
    expect(changed.body.limits).to.include({ dailyRequests: 2, maxInFlight: 3 });
    expect((await chat(rig.url, undefined, bearer(RESEARCH))).status).to.equal(200);
    await request(rig.url).patch('/admin/clients/research').set(admin).send({ dailyRequests: null }).expect(200);
    expect((await chat(rig.url, undefined, bearer(RESEARCH))).status).to.equal(200);
    const bad = await request(rig.url).patch('/admin/clients/research').set(admin).send({ maxInFlight: 0 });
    expect(bad.status).to.equal(400);
    const missing = await request(rig.url).patch('/admin/clients/nobody').set(admin).send({ maxInFlight: 1 });
    expect([missing.status, missing.body.error.code]).to.deep.equal([404, 'client_not_found']);
    await request(rig.url).delete('/admin/clients/research').set(admin).expect(200);
    expect((await chat(rig.url, undefined, bearer(RESEARCH))).status).to.equal(401);
    await request(rig.url).delete('/admin/clients/research').set(admin).expect(404);
  });

  it('addClient, updateClient, removeClient and usage() do the same from code, with coded errors', async () => {
    rig = await startRig({ clients: [] });
    rig.balancer.addClient({ name: 'ci', token: NEW, maxInFlight: 2 });
    expect(() => rig.balancer.addClient({ name: 'ci', token: RESEARCH }))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_EXISTS');
    expect(() => rig.balancer.addClient({ name: 'k', token: KEYS[0] }))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_TOKEN_TAKEN');
    rig.balancer.updateClient('ci', { dailyRequests: 1 });
    expect((await chat(rig.url, undefined, bearer(NEW))).status).to.equal(200);
    expect((await chat(rig.url, undefined, bearer(NEW))).status).to.equal(429);
    expect((await rig.balancer.usage()).ci).to.include({ requests: 1, remaining: 0 });
    rig.balancer.removeClient('ci');
    expect((await chat(rig.url, undefined, bearer(NEW))).status).to.equal(401);
    expect(() => rig.balancer.removeClient('ci'))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_NOT_FOUND');
  });

  it('keeps the day across a restart with stateFile', async () => {
    const fake = await startFakeModelScope();
    const stateFile = join(mkdtempSync(join(tmpdir(), 'msb-restart-')), 'state.json');
    const options = {
      keys: KEYS,
      target: fake.url,
      healthCheck: false as const,
      stateFile,
      clients: [{ name: 'research', token: RESEARCH, dailyRequests: 3 }],
    };
    try {
      const first = await serveReplica(modelscopeBalance(options));
      for (let i = 0; i < 2; i++) expect((await chat(first.url, undefined, bearer(RESEARCH))).status).to.equal(200);
      await first.close();
      const balancer = modelscopeBalance(options);
      const second = await serveReplica(balancer);
      expect((await balancer.usage('research')).requests).to.equal(2);
      expect((await chat(second.url, undefined, bearer(RESEARCH))).status).to.equal(200);
      expect((await chat(second.url, undefined, bearer(RESEARCH))).status).to.equal(429);
      await second.close();
    } finally {
      await fake.close();
    }
  });
});
