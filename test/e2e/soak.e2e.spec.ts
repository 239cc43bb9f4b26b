import http from 'node:http';
import { expect } from 'chai';
import type { Behaviour } from '../../lib/testing/index.js';
import { captureLogger, startRig, testKey, waitFor, type Rig } from '../helpers.js';

const SOAK_KEYS = Array.from({ length: 5 }, (_, i) => testKey(i, `50a${i}0000`));
const TROUBLE: Behaviour[] = ['rate-limited', 'server-error', 'reset', 'hang', 'ok'];
/**
 * A hang costs its request a whole `firstByteMs`. That limit stays far above any delay a CPU starved by other
 * processes adds to an answer (the always-good key must never time out: with every other key in trouble, its request
 * would get a 504), so hangs are counted out, enough to be sure they happen, few enough to keep the soak short.
 */
const FIRST_BYTE_MS = 8_000;
const HANGS = 12;

function post(url: string, id: number, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v1/chat/completions`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-soak-id': String(id) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `request ${id}` }] }));
  });
}

describe('soak: 2,000 requests, 50 at a time, over 5 flaky keys', function () {
  this.timeout(90_000);
  let rig: Rig;
  afterEach(async () => rig?.close());

  it('answers every request exactly once, successfully, within the attempt budget, and leaks nothing', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const logger = captureLogger();
    rig = await startRig({
      // 'always': hung and reset POSTs are resent too (the default resends only GET/HEAD), so every request ends in
      // 200.
      keys: SOAK_KEYS,
      logger,
      retry: { attempts: SOAK_KEYS.length, timeouts: 'always' },
      timeouts: { firstByteMs: FIRST_BYTE_MS },
      cooldown: { baseMs: 20, maxMs: 100 },
      failureThreshold: 3,
      // A troubled key's random 429s (no counters) may pass for a used-up allowance: its trial comes as soon.
      quota: { exhaustedTrialMs: 100 },
    });
    // Key 0 always succeeds; the others answer at random with trouble or success (hangs counted out).
    let hangs = 0;
    const trouble = (): Behaviour => {
      const picked = TROUBLE[Math.floor(Math.random() * TROUBLE.length)];
      if (picked !== 'hang') return picked;
      return hangs++ < HANGS ? 'hang' : 'ok';
    };
    for (const key of SOAK_KEYS.slice(1)) rig.fake.behave(key, trouble);
    // Keep the unhealthy state short, so troubled keys keep coming back into rotation.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;

    const total = 2000;
    const statuses = new Map<number, number>();
    let next = 0;
    let answered = 0;
    const worker = async () => {
      while (next < total) {
        const id = next++;
        const res = await post(rig.url, id, agent);
        statuses.set(id, res.status);
        answered++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    agent.destroy();

    expect(answered).to.equal(total);
    expect(hangs, 'hangs happened').to.be.at.least(HANGS);
    expect(statuses.size).to.equal(total);
    expect([...statuses.values()].filter((s) => s !== 200)).to.deep.equal([]);
    const perRequest = new Map<string, number>();
    for (const r of rig.fake.received) {
      const id = String(r.headers['x-soak-id']);
      perRequest.set(id, (perRequest.get(id) ?? 0) + 1);
    }
    expect(perRequest.size).to.equal(total);
    expect(Math.max(...perRequest.values())).to.be.at.most(SOAK_KEYS.length);
    await waitFor(() => Object.values(rig.balancer.stats()).every((s) => s.in_flight === 0), 5000);
    expect(unhandled).to.deep.equal([]);
    expect(logger.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
    expect(logger.text()).not.to.match(/headers already sent|ERR_HTTP_HEADERS_SENT/i);
    rig.fake.received.length = 0;
    logger.lines.length = 0;
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    expect(heapAfter - heapBefore).to.be.below(30 * 1024 * 1024);
    process.off('unhandledRejection', onUnhandled);
  });
});
