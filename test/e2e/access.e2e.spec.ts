import net from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { matchesAny, presentedToken } from '../../lib/engine/access.js';
import { upstreamPath } from '../../lib/upstream/upstream-path.js';
import { KEYS, assertNoKeyIn, chat, startRig, type Rig } from '../helpers.js';
import { createHash } from 'node:crypto';

const CLIENT_TOKEN = 'client-token-0123456789abcdef';
const ADMIN_TOKEN = 'admin-token-fedcba9876543210';

/** Sends a raw request line, for forms no HTTP client would produce. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // write, not end: a half-closed client would lose answers that come after a round trip.
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('access control and hygiene', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());
  const port = () => (rig.server.address() as net.AddressInfo).port;

  describe('client access tokens', () => {
    it('lets a client through with its token as Bearer or x-api-key, and never forwards it', async () => {
      rig = await startRig({ accessTokens: ['other-token-xyz', CLIENT_TOKEN] });
      expect((await chat(rig.url, undefined, { authorization: `Bearer ${CLIENT_TOKEN}` })).status).to.equal(200);
      expect((await chat(rig.url, undefined, { 'x-api-key': CLIENT_TOKEN })).status).to.equal(200);
      for (const received of rig.fake.received) expect(JSON.stringify(received.headers)).not.to.include(CLIENT_TOKEN);
    });

    for (const [what, headers] of [
      ['no token', {}],
      ['a wrong token', { authorization: 'Bearer nope' }],
      ['a token that is a prefix of a real one', { authorization: `Bearer ${CLIENT_TOKEN.slice(0, 10)}` }],
      ['a pool key', { authorization: `Bearer ${KEYS[0]}` }],
    ] as Array<[string, Record<string, string>]>) {
      it(`answers ${what} with 401, a JSON error and WWW-Authenticate, touching no key`, async () => {
        rig = await startRig({ accessTokens: [CLIENT_TOKEN] });
        const res = await chat(rig.url, undefined, headers);
        expect(res.status).to.equal(401);
        expect(res.headers['www-authenticate']).to.match(/^Bearer realm=/);
        expect(JSON.parse(res.body).error.code).to.equal('invalid_access_token');
        expect(rig.fake.received).to.have.length(0);
        expect(Object.values(rig.balancer.stats()).every((s) => s.requests === 0 && s.last_used === null)).to.equal(
          true,
        );
      });
    }

    it('compares against every token with no early exit', () => {
      const digest = (t: string) => createHash('sha256').update(t).digest();
      const tokens = ['a', 'b', 'c'].map(digest);
      expect(matchesAny('b', tokens)).to.equal(true);
      expect(matchesAny('d', tokens)).to.equal(false);
      expect(matchesAny(undefined, tokens)).to.equal(false);
      expect(presentedToken({ authorization: 'bearer  xyz ' })).to.equal('xyz');
      expect(presentedToken({ 'x-api-key': 'k' })).to.equal('k');
      expect(presentedToken({ authorization: 'Basic abc' })).to.equal(undefined);
    });
  });

  describe('the admin token', () => {
    it('guards /stats and /metrics; /health stays open and shows no key detail', async () => {
      rig = await startRig({ adminToken: ADMIN_TOKEN });
      for (const path of ['/ms/stats', '/ms/metrics']) {
        const denied = await request(rig.app).get(path).expect(401);
        expect(denied.headers['www-authenticate']).to.match(/Bearer/);
        expect(denied.body.error.code).to.equal('invalid_admin_token');
        await request(rig.app).get(path).set('authorization', 'Bearer wrong').expect(401);
        await request(rig.app).get(path).set('authorization', `Bearer ${ADMIN_TOKEN}`).expect(200);
      }
      const health = await request(rig.app).get('/ms/health').expect(200);
      expect(Object.keys(health.body).sort()).to.deep.equal(['healthy_keys', 'status', 'total_keys']);
    });
  });

  describe('where requests go', () => {
    it('ignores the host of an absolute-form request line', async () => {
      rig = await startRig();
      const answer = await rawRequest(
        port(),
        'GET http://evil.example/ms/v1/echo?q=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
      );
      expect(answer).to.match(/^HTTP\/1.1 200/);
      expect(rig.fake.received[0].url).to.equal('/v1/echo?q=1');
      expect(rig.fake.received[0].headers.host).to.equal(new URL(rig.fake.url).host);
    });

    it('ignores Host and X-Forwarded-Host', async () => {
      rig = await startRig();
      await request(rig.app)
        .get('/ms/v1/echo')
        .set('host', 'evil.example')
        .set('x-forwarded-host', 'evil.example')
        .expect(200);
      expect(rig.fake.received[0].headers.host).to.equal(new URL(rig.fake.url).host);
      expect(rig.fake.received[0].headers).not.to.have.property('x-forwarded-host');
    });

    for (const path of ['/ms/../v1/echo', '/ms/v1/%2e%2e/echo', '/ms/v1%2fecho', '/ms/v1%5Cecho', '/ms/v1/./echo']) {
      it(`refuses ${path} with 400 and no upstream call`, async () => {
        rig = await startRig();
        const answer = await rawRequest(port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect(answer).to.match(/^HTTP\/1.1 400/);
        expect(answer).to.include('bad_path');
        expect(rig.fake.received).to.have.length(0);
      });
    }

    it('keeps a target base path and cannot leave it', () => {
      expect(upstreamPath('/api/', '/v1/models?x=1')).to.equal('/api/v1/models?x=1');
      expect(upstreamPath('/api', '/../admin')).to.equal(undefined);
      expect(upstreamPath('/', 'http://other.host/v1/x?y')).to.equal('/v1/x?y');
      expect(upstreamPath('/', '/v1/file.json')).to.equal('/v1/file.json');
    });
  });

  describe('headers', () => {
    it('drops credentials, cookies and hop-by-hop headers on the way up, and adds no X-Forwarded-For', async () => {
      rig = await startRig();
      await request(rig.app)
        .post('/ms/v1/echo')
        .set('cookie', 'session=1')
        .set('proxy-authorization', 'Basic x')
        .set('connection', 'x-hop')
        .set('x-hop', '1')
        .set('te', 'trailers')
        .set('x-forwarded-for', '10.9.9.9')
        .set('forwarded', 'for=10.9.9.9')
        .set('x-custom', 'kept')
        .send({})
        .expect(200);
      const headers = rig.fake.received[0].headers;
      for (const name of ['cookie', 'proxy-authorization', 'x-hop', 'te', 'x-forwarded-for', 'forwarded']) {
        expect(headers, name).not.to.have.property(name);
      }
      expect(headers['x-custom']).to.equal('kept');
    });

    it('adds X-Forwarded-For only when forwardClientAddress asks for it', async () => {
      rig = await startRig({ forwardClientAddress: true });
      await request(rig.app).get('/ms/v1/echo').expect(200);
      expect(rig.fake.received[0].headers['x-forwarded-for']).to.equal('127.0.0.1');
    });

    it('drops hop-by-hop headers on the way back and keeps the rest', async () => {
      rig = await startRig();
      rig.fake.behave(KEYS[0], {
        status: 200,
        body: {},
        headers: { 'proxy-authenticate': 'Basic', 'x-kept': 'yes', 'keep-alive': 'timeout=99' },
      });
      const res = await chat(rig.url);
      expect(res.headers['x-kept']).to.equal('yes');
      expect(res.headers).not.to.have.property('proxy-authenticate');
      expect(res.headers['keep-alive'] ?? '').not.to.include('timeout=99');
    });
  });

  it('scrubs a token that an upstream error body echoes', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'echo-token-error');
    const res = await chat(rig.url);
    expect(res.status).to.equal(400);
    expect(res.body).to.include('[redacted]');
    expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(res.body));
    assertNoKeyIn(res.body);
  });
});
