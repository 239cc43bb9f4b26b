// The worked example of docs/creating-a-store.md, run as written: two balancers in one process share key state
// through it, a third loads it when it starts, and garbage on its channel is dropped and counted.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { type Board, BroadcastChannelStore } from '../../docs/examples/broadcast-channel-store.js';
import { type Balancer, modelscopeBalance } from '../../lib/index.js';
import { type FakeModelScope, startFakeModelScope } from '../../lib/testing/index.js';
import { chat, KEYS, request, serveReplica, waitFor } from '../helpers.js';

const root = new URL('../../', import.meta.url);

describe('the worked example store of docs/creating-a-store.md', () => {
  let fake: FakeModelScope;
  const closers: Array<() => Promise<void>> = [];
  const board: Board = { state: new Map(), tasks: new Map() };
  const channel = `worked-example-${process.pid}`;

  async function replica(): Promise<{ balancer: Balancer; url: string }> {
    const balancer = modelscopeBalance({
      keys: KEYS,
      target: fake.url,
      healthCheck: false,
      store: new BroadcastChannelStore(board, channel),
      cooldown: { baseMs: 60_000, maxMs: 120_000 },
    });
    const served = await serveReplica(balancer);
    closers.push(served.close);
    return { balancer, url: served.url };
  }
  const stateOf = (balancer: Balancer, i: number) => Object.values(balancer.stats())[i].state;

  beforeEach(async () => {
    fake = await startFakeModelScope();
    board.state.clear();
    board.tasks.clear();
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    await fake.close();
  });

  it('is the code the document shows', () => {
    const doc = readFileSync(new URL('docs/creating-a-store.md', root), 'utf8');
    const file = readFileSync(new URL('docs/examples/broadcast-channel-store.ts', root), 'utf8');
    const shown = /```ts\n\/\/ broadcast-channel-store\.ts\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(shown, 'a ```ts block starting with // broadcast-channel-store.ts').to.be.a('string');
    expect(shown).to.equal(file.replace("from '../../lib/index.js'", "from 'modelscope-balance'"));
  });

  it('shares a 429 and a refused key between two balancers, and a third loads them when it starts', async () => {
    const [a, b] = [await replica(), await replica()];
    expect(JSON.parse((await request(`${a.url}/health`)).body)).to.include({ store: 'ok' });
    fake.behave(KEYS[0], { retryAfterSeconds: 60 });
    fake.behave(KEYS[1], 'unauthorized');
    await chat(a.url);
    await waitFor(() => stateOf(b.balancer, 0) === 'cooling' && stateOf(b.balancer, 1) === 'invalid');
    const c = await replica();
    expect([stateOf(c.balancer, 0), stateOf(c.balancer, 1), stateOf(c.balancer, 2)]).to.deep.equal([
      'cooling',
      'invalid',
      'healthy',
    ]);
  });

  it('sends a task poll through the other balancer to the key that submitted it', async () => {
    const [a, b] = [await replica(), await replica()];
    const submitted = await request(`${a.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-modelscope-async-mode': 'true' },
      body: '{"prompt":"a cat"}',
    });
    const { task_id: taskId } = JSON.parse(submitted.body);
    for (let i = 0; i < 3; i++) expect((await request(`${b.url}/v1/tasks/${taskId}`)).status).to.equal(200);
  });

  it('drops what is not an update, and counts it', async () => {
    const a = await replica();
    const sender = new BroadcastChannel(channel);
    sender.postMessage('not json');
    sender.postMessage(JSON.stringify({ v: 1, kind: 'key', id: 'nope', at: 1, status: 'cooling' }));
    sender.close();
    const rejected = async () => (await request(`${a.url}/metrics`)).body;
    await waitFor(async () => /store_rejected_total\{reason="shape"\} 1/.test(await rejected()));
    expect(await rejected()).to.match(/store_rejected_total\{reason="malformed"\} 1/);
    expect(Object.values(a.balancer.stats()).map((s) => s.state)).to.deep.equal(['healthy', 'healthy', 'healthy']);
  });
});
