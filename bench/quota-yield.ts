import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { buildBalancer } from '../lib/balancer.js';
import type { BalanceOptions } from '../lib/index.js';
import { startFakeModelScope, type FakePoints } from '../lib/testing/index.js';
import { benchKeys } from './servers/common.js';

/**
 * "Quota yield without counters": a simulated day (a manual clock; every call a real HTTP round trip) of a pool in
 * front of the imitation in points mode with no quota counters, the default cooldowns and trial period. It reports
 * the share of the day's points the clients got (allowance delivered) and the upstream calls spent on each key after
 * its points ran out (wasted). `npm run bench:quota` runs it alone; `npm run bench` includes it.
 * QUOTA_STEP_SECONDS (default 20) is the mean time between two rounds of requests.
 */
const KEYS = 5;
const POINTS: FakePoints = { daily: 250, costs: { 'deepseek-ai/DeepSeek-V3.1': 2 }, defaultCost: 1 };
const MODELS = ['Qwen/Qwen2.5-7B-Instruct', 'deepseek-ai/DeepSeek-V3.1'];
const DAY_MS = 86_400_000;
/** Midnight in Shanghai, when the simulated day (and the allowance) begins. */
const DAY_START = Date.parse('2026-03-01T16:00:00Z');

export interface YieldFigures {
  /** Points the clients got, of all the keys' points for the day. */
  delivered: number;
  /** Upstream calls answered "used up" per key, after its points ran out. */
  wastedPerKey: number[];
  /** Client requests answered 200, and in all. */
  served: number;
  requests: number;
}

/** A small seeded generator, so every run sends the same day of traffic. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function post(port: number, model: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { port, host: '127.0.0.1', method: 'POST', path: '/v1/chat/completions', agent: false },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.setHeader('content-type', 'application/json');
    req.end(JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }));
  });
}

/** One simulated day; `whenEmpty` is how the imitation refuses a key whose points are gone. */
export async function simulateDay(
  whenEmpty: FakePoints['whenEmpty'],
  quota: BalanceOptions['quota'] = {},
  stepSeconds = Number(process.env.QUOTA_STEP_SECONDS ?? 20),
): Promise<YieldFigures> {
  const keys = benchKeys(KEYS);
  const fake = await startFakeModelScope({ counters: false });
  for (const key of keys) fake.points(key, { ...POINTS, whenEmpty });
  let now = DAY_START;
  const { balancer } = buildBalancer({ keys, target: fake.url, healthCheck: false, quota }, { now: () => now });
  const app = express();
  app.use(balancer);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const next = random(27);
  let served = 0;
  let requests = 0;
  // Rounds of one to three concurrent requests, a mean of `stepSeconds` apart: more than the day's points can serve.
  while (now < DAY_START + DAY_MS) {
    const batch = 1 + Math.floor(next() * next() * 3);
    const statuses = await Promise.all(Array.from({ length: batch }, () => post(port, MODELS[next() < 0.5 ? 0 : 1])));
    requests += batch;
    served += statuses.filter((status) => status === 200).length;
    now += Math.round(next() * 2 * stepSeconds * 1000);
  }
  // Read before the reset, while today's successes still count as today's.
  now = DAY_START + DAY_MS - 1;
  const stats = Object.values(balancer.stats());
  const spent = keys.reduce((sum, key) => sum + POINTS.daily - (fake.pointsLeft(key) ?? 0), 0);
  const wastedPerKey = keys.map((key, i) => fake.count(key) - stats[i].quota.successes_today);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await balancer.close();
  await fake.close();
  return { delivered: spent / (KEYS * POINTS.daily), wastedPerKey, served, requests };
}

export interface QuotaYield {
  /** Each world's figures, by name. */
  worlds: Record<string, YieldFigures>;
}

const WORLDS: Array<[string, FakePoints['whenEmpty'], BalanceOptions['quota']]> = [
  ['plain 429 when used up', 'plain-429', {}],
  ['403 QuotaLimitExceed when used up', 'balance-403', {}],
  ['plain 429, no inference (as before)', 'plain-429', { assumeExhaustedAfter: 1_000_000_000 }],
];

/** Runs every world and prints a line for each. */
export async function quotaYield(): Promise<QuotaYield> {
  console.log(
    `\nQuota yield without counters: a simulated day, ${KEYS} keys × ${POINTS.daily} points, models costing 1 ` +
      'and 2, no quota counters, default cooldowns and trial period (aim: 100 % delivered, at most 3 + 48 wasted ' +
      'per key):',
  );
  const worlds: Record<string, YieldFigures> = {};
  for (const [name, whenEmpty, quota] of WORLDS) {
    const figures = await simulateDay(whenEmpty, quota);
    worlds[name] = figures;
    const wasted = figures.wastedPerKey;
    console.log(
      `  ${name.padEnd(36)} delivered ${(figures.delivered * 100).toFixed(1)} % of the points ` +
        `(${figures.served} of ${figures.requests} requests served); wasted calls per used-up key: max ` +
        `${Math.max(...wasted)}, mean ${(wasted.reduce((a, b) => a + b, 0) / wasted.length).toFixed(1)}`,
    );
  }
  return { worlds };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  quotaYield().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
