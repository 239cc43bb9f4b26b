import { type Clock, install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import { checkClients } from '../../../lib/clients/check-client.js';
import { ClientBook, type ClientBookOptions } from '../../../lib/clients/client-book.js';
import { ClientChangeError } from '../../../lib/clients/client-change-error.js';
import type { ClientOutcome, GatedRequest } from '../../../lib/clients/client-ticket.js';

const NOW = Date.UTC(2026, 10, 30, 8, 0, 0);
const MODEL = 'Qwen/Qwen3-Coder-480B-A35B-Instruct';
const T = (name: string) => `token-of-${name}-0123456789`;
const POOL_KEY = 'ms-11111111-aaaa-4bbb-8ccc-000000000001';

function book(clients: unknown, more: Partial<ClientBookOptions> = {}): ClientBook {
  return new ClientBook({
    clients: clients === undefined ? undefined : checkClients(clients, () => undefined),
    accessTokens: [],
    adminToken: 'admin-token-0123456789',
    isPoolKey: (token) => token === POOL_KEY,
    holdsKeyPiece: (text) => text.length >= 12 && POOL_KEY.includes(text.slice(0, 12)),
    resetTimeZone: 'Asia/Shanghai',
    resetMinutes: 0,
    now: Date.now,
    ...more,
  });
}

const post = (model?: string): GatedRequest => ({ method: 'POST', modelName: () => model });
const get: GatedRequest = { method: 'GET', modelName: () => undefined };

describe('clients: limits before any upstream call, figures at the end', () => {
  let clock: Clock;
  beforeEach(() => {
    clock = install({ now: NOW, toFake: ['Date', 'setTimeout', 'setInterval'] });
  });
  afterEach(() => clock.uninstall());

  it('maxInFlight: the request past it is refused at once; one that ends frees its place', () => {
    const clients = book([{ name: 'a', token: T('a'), maxInFlight: 2 }]);
    const first = clients.admit(T('a'));
    const second = clients.admit(T('a'));
    expect(first?.check(post(MODEL))).to.equal(undefined);
    expect(second?.check(post(MODEL))).to.equal(undefined);
    const third = clients.admit(T('a'));
    expect(third?.check(post(MODEL))).to.include({ status: 429, code: 'client_in_flight_limit' });
    third?.end({ upstreamCalls: 0 });
    first?.end({ upstreamCalls: 1 });
    first?.end({ upstreamCalls: 1 });
    expect(clients.registry.get('a')?.inFlight).to.equal(1);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.equal(undefined);
  });

  it('dailyRequests on shared counters: a client that leaves while the store is asked gives its slot back', async () => {
    let total = 0;
    let answer: (() => void) | undefined;
    const counters = {
      shared: () => true,
      // Slow, as Redis may be: the answer comes when the test says.
      increment: (_name: string, by: number) =>
        new Promise<number>((resolve) => {
          answer = () => resolve((total += by));
        }),
    };
    const clients = book([{ name: 'a', token: T('a'), dailyRequests: 5 }], { counters });
    const ticket = clients.admit(T('a'));
    const checked = ticket?.check(post(MODEL));
    expect(checked).to.be.instanceOf(Promise);
    ticket?.end({ upstreamCalls: 0 }); // the client left: its request ended while the reservation was under way
    answer?.();
    await checked;
    await Promise.resolve();
    answer?.(); // the slot given back (an increment of -1), when it is sent
    await new Promise((resolve) => setImmediate(resolve));
    expect(total).to.equal(0);
    expect(clients.registry.get('a')?.inFlight).to.equal(0);
  });

  it('requestsPerMinute: the limit at once, the next with Retry-After until a slot frees (fake clock)', () => {
    const clients = book([{ name: 'a', token: T('a'), requestsPerMinute: 20 }]);
    for (let i = 0; i < 20; i++) {
      const ticket = clients.admit(T('a'));
      expect(ticket?.check(post(MODEL)), `request ${i + 1}`).to.equal(undefined);
      ticket?.end({ upstreamCalls: 1 });
    }
    const refused = clients.admit(T('a'))?.check(post(MODEL));
    expect(refused).to.deep.include({ status: 429, code: 'client_rate_limited', headers: { 'retry-after': '3' } });
    clock.tick(2_999);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.include({ code: 'client_rate_limited' });
    clock.tick(1);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.equal(undefined);
  });

  it('dailyRequests: Retry-After until the reset and x-should-retry false; the next day serves again', () => {
    const clients = book([{ name: 'a', token: T('a'), dailyRequests: 2 }]);
    for (let i = 0; i < 2; i++) clients.admit(T('a'))?.check(post(MODEL));
    const refused = clients.admit(T('a'))?.check(post(MODEL));
    // 08:00 UTC is 16:00 in Shanghai: eight hours to midnight there.
    expect(refused).to.deep.include({
      status: 429,
      code: 'client_daily_limit',
      headers: { 'retry-after': String(8 * 3600), 'x-should-retry': 'false' },
    });
    clock.tick(8 * 3_600_000 - 1);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.include({ code: 'client_daily_limit' });
    clock.tick(1);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.equal(undefined);
  });

  it('a refused day gives the minute its token back; a request that made no call gives the day its slot back', () => {
    const clients = book([{ name: 'a', token: T('a'), dailyRequests: 1, requestsPerMinute: 1 }]);
    const unsent = clients.admit(T('a'));
    expect(unsent?.check(post(MODEL))).to.equal(undefined);
    unsent?.end({ upstreamCalls: 0 });
    clock.tick(60_000);
    const served = clients.admit(T('a'));
    expect(served?.check(post(MODEL))).to.equal(undefined);
    served?.end({ upstreamCalls: 1 });
    clock.tick(60_000);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.include({ code: 'client_daily_limit' });
    expect(clients.registry.get('a')?.bucket?.level(Date.now())).to.equal(1);
  });

  it('models: a listed model passes, another (or none on a POST) gets 403; GETs name none and pass', () => {
    const clients = book([{ name: 'a', token: T('a'), models: [MODEL] }]);
    expect(clients.admit(T('a'))?.check(post(MODEL))).to.equal(undefined);
    const other = clients.admit(T('a'))?.check(post('Qwen/Qwen2.5-7B-Instruct'));
    expect(other).to.include({ status: 403, code: 'model_not_allowed' });
    expect((other as { message: string }).message).to.include(MODEL);
    expect(clients.admit(T('a'))?.check(post(undefined))).to.include({ code: 'model_not_allowed' });
    expect(clients.admit(T('a'))?.check(get)).to.equal(undefined);
  });

  it('an unknown token is nobody; access tokens are "anonymous" without limits', () => {
    const clients = book([{ name: 'a', token: T('a'), maxInFlight: 1 }], { accessTokens: ['access-0123456789abcdef'] });
    expect(clients.admit('nope')).to.equal(undefined);
    expect(clients.admit(undefined)).to.equal(undefined);
    const anonymous = clients.admit('access-0123456789abcdef');
    expect(anonymous?.name).to.equal('anonymous');
    expect(anonymous?.check(post('any/model'))).to.equal(undefined);
    expect(clients.required).to.equal(true);
  });

  it('counts requests served, upstream calls and tokens per model; refusals serve none', async () => {
    const outcomes: ClientOutcome[] = [];
    const clients = book([{ name: 'a', token: T('a'), dailyRequests: 10, maxInFlight: 1 }], {
      ended: (_client, outcome) => outcomes.push(outcome),
    });
    const one = clients.admit(T('a'));
    one?.check(post(MODEL));
    clients.admit(T('a'))?.end({ upstreamCalls: 0 });
    const refused = clients.admit(T('a'));
    refused?.check(post(MODEL));
    refused?.end({ upstreamCalls: 0, model: MODEL });
    one?.end({ upstreamCalls: 2, model: MODEL, promptTokens: 11, completionTokens: 7 });
    const report = await clients.report('a');
    expect(report).to.deep.include({
      client: 'a',
      requests: 1,
      remaining: 9,
      upstream_calls: 2,
      prompt_tokens: 11,
      completion_tokens: 7,
      resets_at: '2026-11-30T16:00:00.000Z',
    });
    expect(report.by_model).to.deep.equal({ [MODEL]: { requests: 1, prompt_tokens: 11, completion_tokens: 7 } });
    expect(outcomes).to.deep.equal(['not_sent', 'client_in_flight_limit', 'served']);
  });

  it('adds, changes and removes clients at runtime, checked whole; never on an open balancer', async () => {
    const clients = book([]);
    clients.add({ name: 'b', token: T('b') });
    expect(clients.admit(T('b'))?.name).to.equal('b');
    for (const token of [POOL_KEY, 'admin-token-0123456789', T('b')])
      expect(() => clients.add({ name: 'c', token }))
        .to.throw(ClientChangeError)
        .with.property('code', 'ERR_MSB_CLIENT_TOKEN_TAKEN');
    expect(() => clients.add({ name: POOL_KEY.slice(3, 19), token: T('c') }))
      .to.throw(ClientChangeError)
      .with.property('message')
      .that.includes('holds part of a pool key');
    clients.update('b', { maxInFlight: 1 });
    expect(clients.admit(T('b'))?.check(post(MODEL))).to.equal(undefined);
    expect(clients.admit(T('b'))?.check(post(MODEL))).to.include({ code: 'client_in_flight_limit' });
    expect(() => clients.update('b', { maxInFlight: 0 })).to.throw(ClientChangeError);
    expect(clients.registry.get('b')?.limits).to.deep.equal({ maxInFlight: 1 });
    clients.remove('b');
    expect(clients.admit(T('b'))).to.equal(undefined);
    expect(() => clients.update('b', {}))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENT_NOT_FOUND');
    const open = book(undefined);
    expect(open.required).to.equal(false);
    expect(() => open.add({ name: 'b', token: T('b') }))
      .to.throw(ClientChangeError)
      .with.property('code', 'ERR_MSB_CLIENTS_OFF');
  });

  it('forgets a removed client: its request still under way is counted for nobody when it ends', () => {
    const clients = book([{ name: 'b', token: T('b') }]);
    const ticket = clients.admit(T('b'));
    expect(ticket?.check(post(MODEL))).to.equal(undefined);
    clients.remove('b');
    ticket?.end({ upstreamCalls: 1, model: MODEL });
    expect(Object.keys(clients.state().usage)).to.deep.equal([]);
    clients.add({ name: 'b', token: T('b2') });
    expect(clients.overview().find((client) => client.name === 'b')).to.deep.include({ requests: 0 });
  });

  it('replaces every client whole or not at all', () => {
    const clients = book([{ name: 'a', token: T('a') }]);
    expect(() =>
      clients.replace([
        { name: 'b', token: T('b') },
        { name: 'c', token: 'short' },
      ]),
    ).to.throw(ClientChangeError);
    expect(clients.admit(T('a'))?.name).to.equal('a');
    expect(clients.admit(T('b'))).to.equal(undefined);
    expect(clients.replace([{ name: 'b', token: T('b') }])).to.deep.include({ added: ['b'], removed: ['a'] });
  });

  it('keeps the day across a restart through its state, not into the next day', async () => {
    const clients = book([{ name: 'a', token: T('a'), dailyRequests: 3 }]);
    for (let i = 0; i < 2; i++) {
      const ticket = clients.admit(T('a'));
      ticket?.check(post(MODEL));
      ticket?.end({ upstreamCalls: 1, model: MODEL, promptTokens: 5, completionTokens: 1 });
    }
    const state = JSON.parse(JSON.stringify(clients.state()));
    const restarted = book([{ name: 'a', token: T('a'), dailyRequests: 3 }]);
    expect(restarted.restore(state)).to.equal(true);
    expect(await restarted.report('a')).to.deep.include({ requests: 2, remaining: 1, prompt_tokens: 10 });
    expect(restarted.admit(T('a'))?.check(post(MODEL))).to.equal(undefined);
    expect(restarted.admit(T('a'))?.check(post(MODEL))).to.include({ code: 'client_daily_limit' });
    clock.tick(8 * 3_600_000);
    const nextDay = book([{ name: 'a', token: T('a'), dailyRequests: 3 }]);
    expect(nextDay.restore(state)).to.equal(false);
    expect(nextDay.restore({ version: 2 })).to.equal(false);
    expect((await nextDay.report('a')).requests).to.equal(0);
  });
});
