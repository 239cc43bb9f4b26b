import { pathToFileURL } from 'node:url';
import { loadTest, type LoadResult } from './load.js';
import { CONTENDER_CORE, cpuMsOf, LOAD_CORE, pinTo, startScript, type Running } from './processes.js';
import { redisCommandsPerRequest } from './redis-commands.js';

const TOKEN = 'bench-client-token-0123456789';
const CONNECTIONS = 50;

async function cpuPerRequest(contender: Running, seconds: number): Promise<LoadResult> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  await loadTest(contender.port, CONNECTIONS, 1, headers);
  const before = cpuMsOf(contender.pid);
  const result = await loadTest(contender.port, CONNECTIONS, seconds, headers);
  result.cpuUsPerRequest = Math.round(((cpuMsOf(contender.pid) - before) * 1000) / (result.rps * seconds));
  return result;
}

/**
 * What named clients cost: CPU per request of a balancer with 100 named clients, each with every limit (daily,
 * per minute, in flight, a model list), next to one with `accessTokens` alone, in alternating rounds of fresh
 * processes (the median of the per-round ratios; target <= 1.05); and Redis commands per request with a daily budget
 * on a fleet of three (target <= 1.5). Alone: `node --import tsx bench/clients-cost.ts` after `npm run build`
 * (BENCH_SECONDS, BENCH_ROUNDS).
 */
export async function clientsCost(seconds: number, rounds: number): Promise<Record<string, number | null>> {
  pinTo(process.pid, LOAD_CORE);
  const upstream = await startScript('upstream', 'upstream.ts', [], LOAD_CORE);
  const target = ['--target', `http://127.0.0.1:${upstream.port}`, '--keys', '3', '--access-token', TOKEN];
  const contenders: Array<[string, string[]]> = [
    ['accessTokens alone', target],
    ['100 named clients', [...target, '--clients', '100']],
  ];
  const cpu: Record<string, number[]> = {};
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const [name, args] of contenders) {
      const running = await startScript(name, 'balancer.ts', args, CONTENDER_CORE);
      const result = await cpuPerRequest(running, seconds);
      if (result.non2xx + result.errors > 0)
        throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      (cpu[name] ??= []).push(result.cpuUsPerRequest ?? 0);
      await running.stop();
    }
    ratios.push(cpu['100 named clients'][round] / cpu['accessTokens alone'][round]);
  }
  await upstream.stop();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const redis = await redisCommandsPerRequest(seconds, [20, 100], { budgetToken: TOKEN }).catch(() => undefined);
  return {
    'CPU µs/request, accessTokens alone': median(cpu['accessTokens alone']),
    'CPU µs/request, 100 named clients with limits': median(cpu['100 named clients']),
    'CPU per request 100 clients/accessTokens (target <= 1.05)': Math.round(median(ratios) * 100) / 100,
    'Redis commands per request with a daily budget, 20 req/s (target <= 1.5)':
      redis?.['20 req/s: commands per request'] ?? null,
    'Redis commands per request with a daily budget, 100 req/s (target <= 1.5)':
      redis?.['100 req/s: commands per request'] ?? null,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await clientsCost(Number(process.env.BENCH_SECONDS ?? 8), Number(process.env.BENCH_ROUNDS ?? 3)));
}
