import { expect } from 'chai';
import { KEYS, chat, request, startRig, type Rig } from '../helpers.js';
import { nginxInstalled, startNginx, type NginxProcess } from '../fixtures/nginx.js';

const ADMIN = 'admin-token-nginx-0000000001';

/** What the README's nginx snippet puts in a `server {}` block. */
const README_LOCATIONS = `
    location / {
      proxy_pass $upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 300s;
    }
    location ~ ^/(stats|metrics|status|admin)(/|$) {
      allow 127.0.0.1;
      deny all;
      proxy_pass $upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }`;

describe('behind a real nginx (Debian nginx-light)', function () {
  this.timeout(20_000);
  let rig: Rig;
  let nginx: NginxProcess | undefined;
  before(() => {
    if (!nginxInstalled()) throw new Error('nginx is not installed: apt-get install -y nginx-light (.ci/run does)');
  });
  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    await rig?.close();
  });

  async function streamThrough(locations: string) {
    rig = await startRig({ adminToken: ADMIN }, { mount: '/', fake: { streamChunks: 6, streamIntervalMs: 120 } });
    nginx = await startNginx(Number(new URL(rig.url).port), locations);
    return chat(nginx.url, { stream: true });
  }

  it('streams chunks as they are sent through a plain proxy_pass, buffering left on', async () => {
    const res = await streamThrough('location / { proxy_pass $upstream; }');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.include('text/event-stream');
    // Six chunks 120 ms apart: they arrive in several reads spread over the stream, not in one at its end.
    expect(res.chunkTimes.length).to.be.at.least(4);
    expect(res.chunkTimes[res.chunkTimes.length - 1] - res.chunkTimes[0]).to.be.greaterThan(400);
    expect(res.body).to.include('data: [DONE]');
  });

  it("with the README's snippet: streams as sent, and the admin routes answer through it", async () => {
    const res = await streamThrough(README_LOCATIONS);
    expect(res.chunkTimes.length).to.be.at.least(4);
    expect(res.chunkTimes[res.chunkTimes.length - 1] - res.chunkTimes[0]).to.be.greaterThan(400);
    const stats = await request(`${nginx?.url}/stats`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(stats.status).to.equal(200);
    expect(Object.keys(JSON.parse(stats.body))).to.have.length(KEYS.length);
    expect(stats.headers['x-modelscope-balance-replica']).to.be.a('string');
  });
});
