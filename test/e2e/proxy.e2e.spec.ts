import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { KEYS, assertNoKeyIn, captureLogger, chat, startRig, waitFor, type Rig } from '../helpers.js';

/** Connections the imitation still has open. */
function openUpstreamSockets(rig: Rig): number {
  return (rig.fake as unknown as { sockets: Set<unknown> }).sockets.size;
}

describe('proxying through the balancer', () => {
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('forwards the path after the mount point, keeps the query and sends a pool key', async () => {
    rig = await startRig();
    const res = await request(rig.app).get('/ms/v1/echo/deep?x=1&y=two').expect(200);
    expect(res.body.url).to.equal('/v1/echo/deep?x=1&y=two');
    expect(rig.fake.received[0].key).to.equal(KEYS[0]);
  });

  it("never forwards the client's Authorization or x-api-key", async () => {
    rig = await startRig();
    await request(rig.app).get('/ms/v1/echo').set('Authorization', 'Bearer client-secret-token').expect(200);
    await request(rig.app).get('/ms/v1/echo').set('x-api-key', 'client-secret-token').expect(200);
    for (const received of rig.fake.received) {
      expect(JSON.stringify(received.headers)).not.to.include('client-secret-token');
      expect(KEYS).to.include(received.key);
    }
    // Anthropic-style clients get the pool key back in the header they used.
    expect(rig.fake.received[1].headers['x-api-key']).to.equal(rig.fake.received[1].key);
  });

  it('works mounted at /', async () => {
    rig = await startRig({}, { mount: '/' });
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    expect(rig.fake.received[0].url).to.equal('/v1/chat/completions');
  });

  it('reuses upstream connections instead of opening one per request', async () => {
    rig = await startRig();
    for (let i = 0; i < 20; i++) await chat(rig.url);
    expect(rig.fake.count()).to.equal(20);
    expect(rig.fake.connections).to.be.at.most(2);
  });

  it('spreads sequential requests round robin: 30 over 3 keys is 10 each', async () => {
    rig = await startRig();
    for (let i = 0; i < 30; i++) expect((await chat(rig.url)).status).to.equal(200);
    expect(KEYS.map((key) => rig.fake.count(key))).to.deep.equal([10, 10, 10]);
  });

  it('passes upstream status, headers and body through unchanged', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], { status: 418, body: { teapot: true }, headers: { 'x-upstream-header': 'kept' } });
    const res = await chat(rig.url);
    expect(res.status).to.equal(418);
    expect(res.headers['x-upstream-header']).to.equal('kept');
    expect(JSON.parse(res.body)).to.deep.equal({ teapot: true });
  });

  it("takes a 400 as the client's problem: no retry, key stays healthy", async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], { status: 400, body: { error: { message: 'bad model' } } });
    for (let i = 0; i < 3; i++) await chat(rig.url);
    const res = await chat(rig.url);
    expect(res.status).to.equal(400);
    expect(rig.fake.count()).to.equal(4);
    expect(rig.balancer.stats()[Object.keys(rig.balancer.stats())[0]].healthy).to.equal(true);
  });

  it('streams SSE chunk by chunk as the upstream writes them', async () => {
    rig = await startRig({}, { fake: { streamChunks: 5, streamIntervalMs: 80 } });
    const res = await chat(rig.url, { model: 'm', stream: true, messages: [] });
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.include('text/event-stream');
    expect(res.body).to.include('data: [DONE]');
    expect(res.chunkTimes.length).to.be.at.least(5);
    // The first chunk arrives long before the last: nothing held the stream back.
    expect(res.chunkTimes[res.chunkTimes.length - 1] - res.chunkTimes[0]).to.be.greaterThan(250);
  });

  it('aborts the upstream request when the client disconnects, and in-flight goes back to 0', async () => {
    rig = await startRig({}, { fake: { streamChunks: 100, streamIntervalMs: 20 } });
    await new Promise<void>((resolve) => {
      const req = http.request(
        `${rig.url}/v1/chat/completions`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.end(JSON.stringify({ stream: true }));
    });
    await waitFor(() => rig.fake.abandoned === 1);
    await waitFor(() => Object.values(rig.balancer.stats()).every((s) => s.in_flight === 0));
    // The client left: that says nothing against the key.
    expect(Object.values(rig.balancer.stats())[0]).to.include({ consecutive_failures: 0, last_error: null });
  });

  it('sends binary and multipart bodies of several MB byte for byte', async () => {
    rig = await startRig();
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const res = await request(rig.app)
      .post('/ms/v1/echo')
      .set('content-type', 'application/octet-stream')
      .send(body)
      .expect(200);
    expect(res.body.body_length).to.equal(body.length);
    const received = rig.fake.received[0].body;
    expect(createHash('sha256').update(received).digest('hex')).to.equal(
      createHash('sha256').update(body).digest('hex'),
    );
    const multipart = Buffer.concat([
      Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n\r\n'),
      randomBytes(4096),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    await request(rig.app)
      .post('/ms/v1/echo')
      .set('content-type', 'multipart/form-data; boundary=b')
      .send(multipart)
      .expect(200);
    expect(rig.fake.received[1].body.equals(multipart)).to.equal(true);
    expect(rig.fake.received[1].headers['content-length']).to.equal(String(multipart.length));
  });

  describe('when the host app parsed the body first', () => {
    const cases: Array<[string, express.RequestHandler, string, string, (received: Buffer) => void]> = [
      [
        'express.json()',
        express.json(),
        'application/json',
        JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'héllo' }] }),
        (received) =>
          expect(JSON.parse(received.toString())).to.deep.equal({
            model: 'm',
            messages: [{ role: 'user', content: 'héllo' }],
          }),
      ],
      [
        'express.urlencoded() with nested fields',
        express.urlencoded({ extended: true }),
        'application/x-www-form-urlencoded',
        'a[b]=1&a[c][]=2&a[c][]=3&d=x%20y',
        (received) => expect(new URLSearchParams(received.toString()).getAll('d')).to.deep.equal(['x y']),
      ],
      [
        'express.raw()',
        express.raw({ type: '*/*' }),
        'application/octet-stream',
        'raw-bytes-\u0001\u0002',
        (received) => expect(received.toString()).to.equal('raw-bytes-\u0001\u0002'),
      ],
      [
        'express.text()',
        express.text(),
        'text/plain',
        'plain text body',
        (received) => expect(received.toString()).to.equal('plain text body'),
      ],
    ];
    for (const [name, parser, type, body, check] of cases) {
      it(`re-encodes what ${name} consumed, with a correct Content-Length`, async () => {
        rig = await startRig({}, { before: [parser] });
        await request(rig.app).post('/ms/v1/echo').set('content-type', type).send(body).expect(200);
        const received = rig.fake.received[0];
        check(received.body);
        expect(received.headers['content-length']).to.equal(String(received.body.length));
      });
    }

    it('keeps nested form fields the same after urlencoded re-encoding', async () => {
      rig = await startRig({}, { before: [express.urlencoded({ extended: true })] });
      await request(rig.app).post('/ms/v1/echo').type('form').send('a[b]=1&a[c][0][d]=2&e=3&e=4').expect(200);
      const qs = await import('qs');
      expect(qs.parse(rig.fake.received[0].body.toString())).to.deep.equal({
        a: { b: '1', c: [{ d: '2' }] },
        e: ['3', '4'],
      });
    });
  });

  it('answers 503 with an OpenAI-style error at once when no key is usable', async () => {
    rig = await startRig({ failureThreshold: 1, retry: { attempts: 3 } });
    for (const key of KEYS) rig.fake.behave(key, 'server-error');
    await chat(rig.url);
    const res = await chat(rig.url);
    expect(res.status).to.equal(503);
    const body = JSON.parse(res.body);
    expect(body.error).to.include.keys('message', 'type', 'code');
    expect(body.error.code).to.equal('no_key_available');
  });

  it(
    'on close() lets a stream in flight finish, refuses new requests with 503 and leaves no upstream socket ' + 'open',
    async () => {
      rig = await startRig({}, { fake: { streamChunks: 6, streamIntervalMs: 50 } });
      await chat(rig.url);
      const streaming = chat(rig.url, { stream: true });
      await waitFor(() => rig.fake.received.length === 2);
      await rig.balancer.close();
      const refused = await chat(rig.url);
      expect(refused.status).to.equal(503);
      expect(JSON.parse(refused.body).error.code).to.equal('balancer_closed');
      const streamed = await streaming;
      expect(streamed.body).to.include('data: [DONE]');
      await waitFor(() => rig.fake.connections > 0 && openUpstreamSockets(rig) === 0);
    },
  );

  it('logs one line per request with no key in it', async () => {
    const logger = captureLogger();
    rig = await startRig({ logger });
    await chat(rig.url, undefined, { authorization: 'Bearer whatever' });
    await waitFor(() => logger.lines.some((l) => l.msg === 'proxied'));
    const line = logger.lines.find((l) => l.msg === 'proxied')?.obj as Record<string, unknown>;
    expect(line).to.include({ method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1 });
    assertNoKeyIn(logger.text());
  });
});
