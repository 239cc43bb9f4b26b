import http from 'node:http';
import { expect } from 'chai';
import type {
  AttemptEvent,
  BalancerEventName,
  BalancerEvents,
  KeyStateEvent,
  RequestEndEvent,
  StoreEvent,
} from '../../lib/index.js';
import type { Store, StoreHandlers } from '../../lib/index.js';
import { KEYS, assertNoKeyIn, captureLogger, chat, startRig, waitFor, type Rig } from '../helpers.js';

/** Every event of the given names, in order. */
function record<E extends BalancerEventName>(rig: Rig, ...names: E[]): Array<BalancerEvents[E]> {
  const seen: Array<BalancerEvents[E]> = [];
  for (const name of names) rig.balancer.on(name, (event) => seen.push(event));
  return seen;
}

function ends(events: unknown[]): RequestEndEvent[] {
  return (events as Array<{ phase?: string }>).filter((e) => e.phase === 'end') as RequestEndEvent[];
}

describe('events: balancer.on(event, listener)', () => {
  let rig: Rig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('request: a start and an end per proxied request, with its id, the key that answered and the attempts', async () => {
    rig = await startRig();
    const events = record(rig, 'request');
    const res = await chat(rig.url);
    await waitFor(() => events.length === 2);
    const id = res.headers['x-request-id'];
    expect(events[0]).to.deep.equal({ phase: 'start', id, method: 'POST', path: '/v1/chat/completions' });
    const end = events[1] as RequestEndEvent;
    expect(end).to.deep.include({
      phase: 'end',
      id,
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
      attempts: 1,
      key: 'ms-11…0001',
      clientClosed: false,
    });
    expect(end.durationMs).to.be.a('number').and.to.be.greaterThan(0);
  });

  it('request: one answered by the balancer alone has no attempts and no key; the own routes emit nothing', async () => {
    rig = await startRig();
    const events = record(rig, 'request');
    await new Promise<void>((resolve) => {
      const req = http.request(`${rig!.url}/v1/models`, { method: 'PUT', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.end();
    });
    await fetch(`${rig.url}/health`);
    await waitFor(() => events.length === 2);
    expect(ends(events)[0]).to.deep.include({ status: 405, attempts: 0, key: null, clientClosed: false });
  });

  it('request: a client that leaves mid-stream ends it with clientClosed', async () => {
    rig = await startRig({}, { fake: { streamChunks: 50, streamIntervalMs: 20 } });
    const events = record(rig, 'request');
    await new Promise<void>((resolve) => {
      const req = http.request(`${rig!.url}/v1/chat/completions`, { method: 'POST', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
    });
    await waitFor(() => ends(events).length === 1);
    expect(ends(events)[0]).to.deep.include({ status: 200, attempts: 1, key: 'ms-11…0001', clientClosed: true });
  });

  it('attempt: one per key tried, the failover and the answer told apart', async () => {
    rig = await startRig();
    rig.fake.behave(KEYS[0], 'rate-limited');
    const attempts = record(rig, 'attempt') as AttemptEvent[];
    const res = await chat(rig.url);
    expect(res.status).to.equal(200);
    const id = res.headers['x-request-id'];
    expect(attempts.map(({ durationMs, ...rest }) => rest)).to.deep.equal([
      { requestId: id, key: 'ms-11…0001', attempt: 1, status: 429, verdict: 'rate_limited', next: 'failover' },
      { requestId: id, key: 'ms-22…0002', attempt: 2, status: 200, verdict: 'success', next: 'answer' },
    ]);
    for (const attempt of attempts) expect(attempt.durationMs).to.be.a('number').and.at.least(0);
  });

  it('attempt: a failure without an answer names it, and a slow answer is not the key’s fault', async () => {
    rig = await startRig({ timeouts: { firstByteMs: 100 }, retry: { attempts: 2, timeouts: 'always' } });
    rig.fake.behave(KEYS[0], 'reset');
    rig.fake.behave(KEYS[1], 'hang');
    const attempts = record(rig, 'attempt') as AttemptEvent[];
    await chat(rig.url);
    expect(attempts.map(({ key, failure, verdict, next }) => ({ key, failure, verdict, next }))).to.deep.equal([
      { key: 'ms-11…0001', failure: 'reset', verdict: 'failed', next: 'failover' },
      { key: 'ms-22…0002', failure: 'first_byte_timeout', verdict: 'slow', next: 'answer' },
    ]);
  });

  it('keyState: a key cooling, an allowance used up, and an operator’s disable and enable', async () => {
    rig = await startRig({ cooldown: { baseMs: 50, maxMs: 50 } });
    const states = record(rig, 'keyState') as KeyStateEvent[];
    rig.fake.behave(KEYS[0], 'rate-limited');
    rig.fake.behave(KEYS[1], 'quota-exhausted');
    await chat(rig.url);
    expect(states[0]).to.deep.include({ key: 'ms-11…0001', from: 'healthy', to: 'cooling', reason: 'rate_limited' });
    expect((states[0] as { lastError?: string }).lastError).to.be.a('string');
    expect(states[1]).to.deep.include({ key: 'ms-22…0002', to: 'exhausted', reason: 'quota', source: 'counters' });
    expect((states[1] as { until: number }).until).to.be.greaterThan(Date.now());
    states.length = 0;
    expect(rig.balancer.disableKey('ms-33…0003')).to.equal(true);
    expect(rig.balancer.disableKey('ms-33…0003')).to.equal(true);
    expect(rig.balancer.enableKey('ms-33…0003')).to.equal(true);
    expect(states).to.deep.equal([
      { key: 'ms-33…0003', from: 'healthy', to: 'disabled', reason: 'operator' },
      { key: 'ms-33…0003', from: 'disabled', to: 'healthy', reason: 'operator' },
    ]);
  });

  it('store: a value another replica wrote that is not one is dropped, and said so', async () => {
    let handlers: StoreHandlers | undefined;
    // A store that shares (status 'ok') and hands over whatever "another replica" wrote; it sends nothing.
    const linked: Store = {
      init: (given) => {
        handlers = given;
      },
      publish: () => {},
      status: () => 'ok',
    };
    rig = await startRig({ store: linked });
    const seen = record(rig, 'store') as StoreEvent[];
    handlers?.apply({ v: 1, kind: 'key', id: 'x' });
    handlers?.apply('not json at all');
    expect(seen).to.deep.equal([{ rejected: 'shape' }, { rejected: 'malformed' }]);
  });

  it('off() stops a listener; one that throws is logged and the request is answered all the same', async () => {
    const logger = captureLogger();
    rig = await startRig({ logger });
    let calls = 0;
    const counting = () => calls++;
    rig.balancer.on('request', counting).on('request', () => {
      throw new Error(`listener bug with ${KEYS[0]}`);
    });
    expect((await chat(rig.url)).status).to.equal(200);
    await waitFor(() => calls === 2);
    rig.balancer.off('request', counting);
    expect((await chat(rig.url)).status).to.equal(200);
    expect(calls).to.equal(2);
    const errors = logger.lines.filter((line) => line.msg === 'an event listener threw');
    expect(errors.length).to.be.at.least(2);
    assertNoKeyIn(logger.text());
  });

  it('no payload carries a key or any piece of one, whatever the keys went through', async () => {
    rig = await startRig({ cooldown: { baseMs: 20, maxMs: 20 }, failureThreshold: 1 });
    const all = record(rig, 'request', 'attempt', 'keyState', 'store');
    rig.fake.behave(KEYS[0], 'echo-token-error');
    rig.fake.behave(KEYS[1], 'unauthorized');
    rig.fake.behave(KEYS[2], 'server-error');
    for (let i = 0; i < 6; i++) await chat(rig.url, undefined, { 'x-request-id': `r${i}` });
    rig.balancer.disableKey('ms-11…0001');
    await waitFor(() => ends(all).length === 6);
    expect(all.length).to.be.greaterThan(12);
    assertNoKeyIn(JSON.stringify(all));
  });
});
