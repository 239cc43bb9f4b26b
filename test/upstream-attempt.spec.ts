import http from 'node:http';
import net from 'node:net';
import { expect } from 'chai';
import { requestTarget } from '../lib/target.js';
import { sendAttempt } from '../lib/upstream-attempt.js';
import { listen } from './helpers.js';

const timeouts = { connectMs: 100, firstByteMs: 150, idleMs: 100 };

function attemptTo(url: string, agent: http.Agent) {
  return sendAttempt({ target: requestTarget(new URL(url)), agent, method: 'POST', path: '/x', headers: { 'content-length': '2' }, body: Buffer.from('{}'), timeouts });
}

describe('one upstream attempt', () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());

  it('reports a connection that never completes as connect_timeout', async () => {
    const agent = new http.Agent();
    // A socket that stays "connecting" forever, as with a black-holed address.
    (agent as unknown as { createConnection: () => net.Socket }).createConnection = () => {
      const socket = new net.Socket();
      (socket as unknown as { connecting: boolean }).connecting = true;
      return socket;
    };
    const started = performance.now();
    const result = await attemptTo('http://127.0.0.1:1', agent).result;
    expect(result).to.deep.include({ kind: 'failure', failure: 'connect_timeout' });
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
    const result = await attemptTo(`http://[::1]:${port}`, new http.Agent()).result;
    expect(result.kind).to.equal('response');
    if (result.kind === 'response') result.response.resume();
  });

  it('reports a refused connection as connect', async () => {
    const result = await attemptTo('http://127.0.0.1:9', new http.Agent()).result;
    expect(result).to.deep.include({ kind: 'failure', failure: 'connect' });
  });

  it('reports silence before the headers as first_byte_timeout', async () => {
    server = await listen(() => {});
    const port = (server.address() as net.AddressInfo).port;
    const result = await attemptTo(`http://127.0.0.1:${port}`, new http.Agent()).result;
    expect(result).to.deep.include({ kind: 'failure', failure: 'first_byte_timeout' });
    server.closeAllConnections();
  });

  it('switches to the idle limit once the headers arrive, and says why the body broke', async () => {
    server = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    const port = (server.address() as net.AddressInfo).port;
    const attempt = attemptTo(`http://127.0.0.1:${port}`, new http.Agent());
    const result = await attempt.result;
    expect(result.kind).to.equal('response');
    if (result.kind !== 'response') return;
    const closed = new Promise((resolve) => result.response.once('close', resolve));
    result.response.resume();
    await closed;
    expect(result.response.complete).to.equal(false);
    expect(attempt.breakReason()).to.equal('idle timeout');
    server.closeAllConnections();
  });
});
