import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { UpstreamProxy } from '../../lib/upstream/upstream-proxy.js';
import type { AttemptResult, UpstreamAttempt } from '../../lib/upstream/upstream-attempt.js';
import { listen } from '../helpers.js';

const timeouts = { connectMs: 100, firstByteMs: 150, idleMs: 100 };

/**
 * Sends one client request to a front server whose handler makes one attempt
 * through an UpstreamProxy (http-proxy-middleware) at `upstream`.
 */
async function attemptTo(
  upstream: string,
  agent: http.Agent,
  extraHeaders: Record<string, string> = {},
  attemptHeaders: Record<string, string> = {},
): Promise<{ attempt: UpstreamAttempt; result: AttemptResult; clientRequest: http.IncomingMessage; close(): void }> {
  const proxy = new UpstreamProxy(new URL(upstream), agent);
  let attempt!: UpstreamAttempt;
  let clientRequest!: http.IncomingMessage;
  const started = new Promise<void>((resolve) => {
    void listen((req, res) => {
      clientRequest = req;
      req.resume();
      req.once('end', () => {
        attempt = proxy.send(req, res, {
          path: '/x',
          headers: { 'content-length': '2', host: 'upstream', ...attemptHeaders },
          body: Buffer.from('{}'),
          timeouts,
        });
        resolve();
      });
    }).then((front) => {
      const port = (front.address() as net.AddressInfo).port;
      const client = http.request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/anything',
        headers: extraHeaders,
        agent: false,
      });
      client.on('error', () => {});
      client.end('{}');
      closeFront = () => {
        client.destroy();
        front.closeAllConnections();
        front.close();
      };
    });
  });
  let closeFront = () => {};
  await started;
  const result = await attempt.result;
  return { attempt, result, clientRequest, close: () => closeFront() };
}

describe('one upstream attempt through http-proxy-middleware', () => {
  let server: http.Server | undefined;
  let done: (() => void) | undefined;
  afterEach(() => {
    done?.();
    (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
    server?.close();
    server = undefined;
  });

  it('reports a connection that never completes as connect_timeout', async () => {
    const agent = new http.Agent();
    // A socket that stays "connecting" forever, as with a black-holed address.
    (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => {
      const socket = new net.Socket();
      (socket as unknown as { connecting: boolean }).connecting = true;
      return socket;
    };
    const started = performance.now();
    const run = await attemptTo('http://127.0.0.1:1', agent);
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'connect_timeout' });
    expect(performance.now() - started).to.be.within(80, 1000);
  });

  it('reaches an IPv6 target given with brackets', async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    const listening = await new Promise<boolean>((resolve) => {
      server!.once('error', () => resolve(false));
      server!.listen(0, '::1', () => resolve(true));
    });
    if (!listening) return; // no IPv6 loopback on this machine
    const port = (server.address() as net.AddressInfo).port;
    const run = await attemptTo(`http://[::1]:${port}`, new http.Agent());
    done = run.close;
    expect(run.result.kind).to.equal('response');
    if (run.result.kind === 'response') run.result.response.resume();
  });

  it('reports a refused connection as connect', async () => {
    const run = await attemptTo('http://127.0.0.1:9', new http.Agent());
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'connect' });
  });

  it('reports silence before the headers as first_byte_timeout, not as the reset http-proxy sees', async () => {
    server = await listen(() => {});
    const port = (server.address() as net.AddressInfo).port;
    const run = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent());
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'first_byte_timeout', sentWhole: true });
  });

  it('makes a header Node refuses to send (a key with a stray character) a failed attempt, not a crash', async () => {
    server = await listen((_req, res) => res.end('ok'));
    const port = (server.address() as net.AddressInfo).port;
    const run = await attemptTo(
      `http://127.0.0.1:${port}`,
      new http.Agent(),
      { authorization: 'Bearer client-own' },
      { authorization: 'Bearer ms-\u200b-key' },
    );
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'connect' });
    // http-proxy threw while the attempt's headers were lent to it: the client's are back all the same.
    expect(run.clientRequest.headers.authorization).to.equal('Bearer client-own');
  });

  it('reports a real reset as reset', async () => {
    server = await listen((req) => req.socket.destroy());
    const port = (server.address() as net.AddressInfo).port;
    const run = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent());
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'reset' });
  });

  it('takes a 101 to a plain request as an upstream error at once, not a hang', async () => {
    server = net.createServer((socket) => {
      socket.once('data', () =>
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'),
      );
    }) as unknown as http.Server;
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const started = performance.now();
    const run = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent());
    done = run.close;
    expect(run.result).to.deep.include({ kind: 'failure', failure: 'protocol' });
    expect(performance.now() - started).to.be.below(140);
  });

  it(
    "sends our path, headers and body, never the client's, and proxies a client that sent Expect: " + '100-continue',
    async () => {
      let seen: { url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
      server = await listen((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          seen = { url: req.url, headers: req.headers, body };
          res.end('ok');
        });
      });
      const port = (server.address() as net.AddressInfo).port;
      const run = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent(), {
        authorization: 'Bearer client-token',
        'x-client': 'yes',
      });
      done = run.close;
      expect(run.result.kind).to.equal('response');
      if (run.result.kind === 'response') run.result.response.resume();
      expect(seen.url).to.equal('/x');
      expect(seen.body).to.equal('{}');
      expect(seen.headers).not.to.have.property('authorization');
      expect(seen.headers).not.to.have.property('x-client');
    },
  );

  it('switches to the idle limit once the headers arrive, and says why the body broke', async () => {
    server = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    const port = (server.address() as net.AddressInfo).port;
    const run = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent());
    done = run.close;
    expect(run.result.kind).to.equal('response');
    if (run.result.kind !== 'response') return;
    const closed = new Promise(
      (resolve) => run.result.kind === 'response' && run.result.response.once('close', resolve),
    );
    run.result.response.resume();
    await closed;
    expect(run.result.response.complete).to.equal(false);
    expect(run.attempt.breakReason).to.equal('idle_timeout');
  });
});
