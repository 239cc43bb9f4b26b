import { mkdirSync, writeFileSync } from 'node:fs';
import { startRedis } from '../test/fixtures/redis-server.js';
import { type LoadResult, loadTest } from './load.js';
import { CONTENDER_CORE, LOAD_CORE, pinTo, startScript } from './processes.js';
import { redisCommandsPerRequest } from './redis-commands.js';

/**
 * `npm run bench:redis`: the balancer with a RedisStore against the same balancer with the default memory store,
 * in many short alternating rounds (BENCH_ROUNDS, default 9; BENCH_SECONDS each, default 4), each pair measured back
 * to back so the ratio is taken on the same machine state. Writes bench/results/redis.json.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);

pinTo(process.pid, LOAD_CORE);
const redis = await startRedis();
pinTo(redis.pid(), LOAD_CORE);
const upstream = await startScript('upstream', 'upstream.ts', [], LOAD_CORE);
const target = ['--target', `http://127.0.0.1:${upstream.port}`, '--keys', '3'];
const contenders: Array<[string, string[]]> = [
  ['memory store', target],
  ['RedisStore', [...target, '--redis', redis.url]],
];
const pairs: Array<Record<string, LoadResult>> = [];
for (let round = 0; round < ROUNDS; round++) {
  const pair: Record<string, LoadResult> = {};
  // Alternate which goes first, so neither always meets the warmer machine.
  for (const [name, args] of round % 2 ? [...contenders].reverse() : contenders) {
    const running = await startScript(name, 'balancer.ts', args, CONTENDER_CORE);
    await loadTest(running.port, 50, 1);
    pair[name] = await loadTest(running.port, 50, SECONDS);
    await running.stop();
  }
  pairs.push(pair);
  console.log(
    `round ${round + 1}: memory ${pair['memory store'].rps.toFixed(0)} req/s p50 ${pair['memory store'].p50} ms, ` +
      `RedisStore ${pair.RedisStore.rps.toFixed(0)} req/s p50 ${pair.RedisStore.p50} ms`,
  );
}
await upstream.stop();
await redis.stop();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const summary: Record<string, number> = {
  'throughput RedisStore/memory store, median of rounds (target >= 0.95)':
    Math.round(median(pairs.map((p) => p.RedisStore.rps / p['memory store'].rps)) * 100) / 100,
  'p50 RedisStore minus memory store, median of rounds, ms': median(
    pairs.map((p) => p.RedisStore.p50 - p['memory store'].p50),
  ),
};
console.log(summary);
// Redis commands per request at several rates (three replicas, default timings): the README's figure.
const commands = await redisCommandsPerRequest(Math.max(SECONDS, 3));
console.log(commands);
Object.assign(summary, commands);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/redis.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), rounds: pairs, summary }, null, 2)}\n`,
);
