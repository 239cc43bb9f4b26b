// The one trick that leans on http-proxy's internals (lib/upstream/header-lending.ts): an attempt's headers are lent
// to the client request for the synchronous copy http-proxy makes right after its `start` event, and the client's
// are back before any other code runs. If an update of http-proxy-middleware (or of the http-proxy inside it)
// changes when or how it copies them, these tests fail, and say where to look.
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { type ProxyFactory, UpstreamProxy } from '../../lib/upstream/upstream-proxy.js';
import type { AttemptResult } from '../../lib/upstream/upstream-attempt.js';
import { listen } from '../helpers.js';

const BROKEN =
  'http-proxy-middleware no longer copies the client request headers synchronously right after its `start` event: ' +
  'lib/upstream/header-lending.ts (and UpstreamProxy) must change before this version can be used';

interface Observed {
  /** The headers the upstream received. */
  upstream: IncomingHttpHeaders;
  /** Whether req.headers held the attempt's right after our `start` handler. */
  lentAtStart: boolean;
  /** Whether req.headers was the client's own object again at the next microtask. */
  backByNextMicrotask: boolean;
  /** req.headers as the host app's code saw it once the answer was in. */
  afterwards: IncomingHttpHeaders;
  clientHeadersObject: IncomingHttpHeaders;
  result: AttemptResult;
}

/** One attempt through UpstreamProxy, HPM's `start` handler watched from the outside (the factory is injected). */
async function attemptThroughProxy(): Promise<Observed> {
  let upstreamHeaders: IncomingHttpHeaders | undefined;
  const upstream = await listen((req, res) => {
    upstreamHeaders = req.headers;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const seen: Partial<Observed> = {};
  const watching: ProxyFactory = (options) =>
    createProxyMiddleware({
      ...options,
      on: {
        ...options.on,
        start(req, res, target) {
          const clientHeaders = req.headers;
          options.on?.start?.(req, res, target);
          seen.lentAtStart = req.headers !== clientHeaders && req.headers.authorization === 'Bearer pool-key';
          queueMicrotask(() => {
            seen.backByNextMicrotask = req.headers === clientHeaders;
          });
        },
      },
    });
  const upstreamUrl = new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  const proxy = new UpstreamProxy(upstreamUrl, new http.Agent(), watching);
  const front = await listen((req, res) => {
    req.resume();
    req.once('end', async () => {
      seen.clientHeadersObject = req.headers;
      const attempt = proxy.send(req, res, {
        path: '/x',
        headers: {
          host: upstreamUrl.host,
          authorization: 'Bearer pool-key',
          'x-attempt': 'yes',
          'content-length': '2',
        },
        body: Buffer.from('{}'),
        timeouts: { connectMs: 5000, firstByteMs: 5000, idleMs: 5000 },
      });
      seen.result = await attempt.result;
      seen.afterwards = req.headers;
      if (seen.result.kind === 'response') seen.result.response.resume();
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const client = http.request(
      {
        port: (front.address() as AddressInfo).port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/anything',
        agent: false,
        headers: { authorization: 'Bearer client-secret', 'x-client': 'yes' },
      },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    client.on('error', reject);
    client.end('{}');
  });
  front.close();
  upstream.close();
  return { ...(seen as Observed), upstream: upstreamHeaders ?? {} };
}

describe('the header-lending trick under this http-proxy-middleware (upstream/header-lending.ts)', () => {
  let observed: Observed;
  before(async () => {
    observed = await attemptThroughProxy();
  });

  it("the upstream receives the attempt's headers (the pool key), never the client's", () => {
    expect(observed.result.kind, BROKEN).to.equal('response');
    expect(observed.upstream.authorization, BROKEN).to.equal('Bearer pool-key');
    expect(observed.upstream['x-attempt'], BROKEN).to.equal('yes');
    expect(observed.upstream, BROKEN).not.to.have.property('x-client');
  });

  it('the headers are lent in `start`, and the client’s own object is back by the next microtask', () => {
    expect(observed.lentAtStart, `${BROKEN} (no \`start\` event before the copy)`).to.equal(true);
    expect(observed.backByNextMicrotask, BROKEN).to.equal(true);
  });

  it('code that runs later sees the client’s headers, unchanged', () => {
    expect(observed.afterwards).to.equal(observed.clientHeadersObject);
    expect(observed.afterwards).to.include({ authorization: 'Bearer client-secret', 'x-client': 'yes' });
  });
});
