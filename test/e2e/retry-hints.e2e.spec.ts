import { expect } from 'chai';
import request from 'supertest';
import { KEYS, chat, startRig, type Rig } from '../helpers.js';

// What a client (an SDK, a browser, a proxy in front) is told besides the answer: whether a resend would repeat a
// generation, whether nginx may buffer a stream, a code on every error, and what is refused before any key is used.
describe('hints for what sits between the balancer and the user', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  describe('x-should-retry: false where a resend would repeat a generation', () => {
    it('on a 504 after a POST was sent whole and the model did not answer within firstByteMs', async () => {
      rig = await startRig({ timeouts: { firstByteMs: 150 } });
      rig.fake.behave(KEYS[0], 'hang');
      const res = await chat(rig.url);
      expect(res.status).to.equal(504);
      expect(res.headers['x-should-retry']).to.equal('false');
    });

    it('on a 502 for a reset after the POST was sent whole', async () => {
      rig = await startRig();
      rig.fake.behave(KEYS[0], 'reset');
      const res = await chat(rig.url);
      expect(res.status).to.equal(502);
      expect(res.headers['x-should-retry']).to.equal('false');
    });

    it('not where a resend is harmless: a connection that never opened, a GET that timed out', async () => {
      rig = await startRig({ target: 'http://127.0.0.1:9', retry: { attempts: 2 } });
      const unreachable = await chat(rig.url);
      expect(unreachable.status).to.equal(502);
      expect(unreachable.headers).not.to.have.property('x-should-retry');
      await rig.close();
      rig = await startRig({ timeouts: { firstByteMs: 100 }, retry: { attempts: 1 } });
      rig.fake.behave(KEYS[0], 'hang');
      const get = await request(rig.app).get('/ms/v1/echo');
      expect(get.status).to.equal(504);
      expect(get.headers).not.to.have.property('x-should-retry');
    });
  });

  it('tells nginx not to buffer a stream (X-Accel-Buffering: no) and keeps Cache-Control: no-cache', async () => {
    rig = await startRig();
    const sse = await chat(rig.url, { stream: true });
    expect(sse.headers['content-type']).to.include('text/event-stream');
    expect(sse.headers['x-accel-buffering']).to.equal('no');
    expect(sse.headers['cache-control']).to.include('no-cache');
    expect((await chat(rig.url)).headers).not.to.have.property('x-accel-buffering');
  });

  it('gives an OpenAI-shaped upstream error without a code one (upstream_error, upstream_rejected)', async () => {
    rig = await startRig({ retry: { attempts: 1 } });
    rig.fake.behave(KEYS[0], { status: 500, body: { error: { message: 'Internal server error.' } } });
    const five = JSON.parse((await chat(rig.url)).body);
    expect(five).to.deep.equal({ error: { message: 'Internal server error.', code: 'upstream_error' } });
    rig.fake.behave(KEYS[1], { status: 400, body: { error: { message: 'bad model', type: 'x', code: null } } });
    const four = JSON.parse((await chat(rig.url)).body);
    expect(four.error).to.deep.equal({ message: 'bad model', type: 'x', code: 'upstream_rejected' });
    rig.fake.behave(KEYS[2], { status: 400, body: { error: { message: 'own code', code: 'model_not_found' } } });
    expect(JSON.parse((await chat(rig.url)).body).error.code).to.equal('model_not_found');
  });

  describe('with cors set, an Origin that is not allowed', () => {
    it('gets 403 origin_not_allowed before any key is used, even as a no-cors text/plain POST', async () => {
      rig = await startRig({ cors: { origins: ['https://app.example'] } });
      const res = await chat(rig.url, undefined, { origin: 'https://evil.example', 'content-type': 'text/plain' });
      expect(res.status).to.equal(403);
      expect(JSON.parse(res.body).error.code).to.equal('origin_not_allowed');
      expect(rig.fake.received).to.have.length(0);
      expect((await chat(rig.url, undefined, { origin: 'null' })).status).to.equal(403);
      expect(rig.fake.received).to.have.length(0);
    });

    it('leaves requests without Origin, from allowed origins and the same origin alone; * allows all', async () => {
      rig = await startRig({ cors: { origins: ['https://app.example'] } });
      expect((await chat(rig.url)).status).to.equal(200);
      expect((await chat(rig.url, undefined, { origin: 'https://app.example' })).status).to.equal(200);
      const host = new URL(rig.url).host;
      expect((await chat(rig.url, undefined, { origin: `http://${host}` })).status).to.equal(200);
      await rig.close();
      rig = await startRig({ cors: { origins: '*' } });
      expect((await chat(rig.url, undefined, { origin: 'https://anyone.example' })).status).to.equal(200);
    });
  });

  describe("OPTIONS on the balancer's own routes", () => {
    for (const path of ['/status', '/status/data', '/stats', '/metrics', '/admin/keys', '/health']) {
      it(`${path}: 405, never 200 without the admin token`, async () => {
        rig = await startRig({ adminToken: 'admin-token-aaaaaaaaaaaa' });
        const res = await request(rig.app).options(`/ms${path}`);
        expect(res.status).to.equal(405);
        expect(res.body.error.code).to.equal('method_not_allowed');
      });
    }

    it('a CORS preflight is still answered 204 when cors is set', async () => {
      rig = await startRig({ cors: { origins: ['https://app.example'] } });
      const res = await request(rig.app)
        .options('/ms/status/data')
        .set('origin', 'https://app.example')
        .set('access-control-request-method', 'GET');
      expect(res.status).to.equal(204);
    });
  });
});
