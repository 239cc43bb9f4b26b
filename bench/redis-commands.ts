import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { Redis } from 'ioredis';
import { modelscopeBalance } from '../dist/lib/index.js';
import { RedisStore } from '../dist/lib/redis.js';
import { startFakeModelScope } from '../dist/lib/testing/index.js';
import { startRedis } from '../test/fixtures/redis-server.js';
import { benchKeys } from './servers/common.js';

/**
 * Redis commands per proxied request at several request rates, with three replicas on one Redis and the store's
 * default timings (changes every 250 ms, counts every second, a heartbeat every 30 s): what the README states.
 * Counted by Redis itself (`total_commands_processed`), less the INFO commands that read it. Ordinary successful
 * traffic changes no key state, so what is left is the batched count writes; idle is measured too.
 * Alone: `node --import tsx bench/redis-commands.ts` (after `npm run build`); BENCH_SECONDS per rate (default 10).
 */
export async function redisCommandsPerRequest(
  seconds: number,
  rates = [1, 5, 20, 100],
  /** With a token: every request from one named client with a daily budget (one counter per request and day). */
  { budgetToken }: { budgetToken?: string } = {},
) {
  const redis = await startRedis();
  const fake = await startFakeModelScope({ keys: benchKeys(3) });
  const admin = new Redis(redis.url);
  const replicas = await Promise.all(
    [0, 1, 2].map(async () => {
      const balancer = modelscopeBalance({
        keys: benchKeys(3),
        target: fake.url,
        healthCheck: false,
        store: new RedisStore({ url: redis.url, prefix: 'bench:' }),
        ...(budgetToken ? { clients: [{ name: 'team', token: budgetToken, dailyRequests: 1_000_000_000 }] } : {}),
      });
      const server = express().use(balancer).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      return { balancer, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    }),
  );
  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await pause(1_500);
  const results: Record<string, number> = {};
  let before = await commands();
  await pause(seconds * 1000);
  results['idle fleet of 3, commands per second'] =
    Math.round((((await commands()) - before - 1) / seconds) * 100) / 100;
  for (const rate of rates) {
    before = await commands();
    const total = rate * seconds;
    const started = performance.now();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      await pause(Math.max(0, due - performance.now()));
      sent.push(
        fetch(`${replicas[i % 3].url}/v1/chat/completions`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(budgetToken ? { authorization: `Bearer ${budgetToken}` } : {}),
          },
          body: '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
        }).then((res) => res.arrayBuffer()),
      );
    }
    await Promise.all(sent);
    await pause(1_300); // the last counts are written
    const used = (await commands()) - before - 1;
    results[`${rate} req/s: commands per request`] = Math.round((used / total) * 100) / 100;
  }
  admin.disconnect();
  for (const { server, balancer } of replicas) {
    server.close();
    await balancer.close();
  }
  await fake.close();
  await redis.stop();
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await redisCommandsPerRequest(Number(process.env.BENCH_SECONDS ?? 10)));
}
