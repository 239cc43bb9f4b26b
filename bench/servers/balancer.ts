import { pathToFileURL } from 'node:url';
import express from 'express';
import { FAILOVER_KEY, announce, arg, benchKeys } from './common.js';

/**
 * The balancer as published (the compiled `dist/`, which `npm run bench` builds first: tsx's compiled source would
 * measure tsx), an Express Router forwarding through http-proxy-middleware, mounted in Express, metrics on, with
 * --keys N keys. With --failover, two keys, the first always answered 429 and cooled for only 1 ms, so about half of
 * sequential requests start on it and fail over (and its 429s, which carry no quota counters, never count as a
 * used-up allowance). With --redis URL, key state is shared through a RedisStore. With --dist PATH, the balancer is
 * another build's `dist/` (BENCH_BASELINE: the previous version, measured beside this one). With --access-token T,
 * requests need T (an access token); with --clients N as well, N named clients with every limit (T is the first's).
 */
const dist = arg('dist')
  ? pathToFileURL(`${arg('dist').replace(/\/$/, '')}/`)
  : new URL('../../dist/', import.meta.url);
const { modelscopeBalance } = (await import(
  new URL('lib/index.js', dist).href
)) as typeof import('../../dist/lib/index.js');
const failover = process.argv.includes('--failover');
const keys = failover ? [FAILOVER_KEY, benchKeys(1)[0]] : benchKeys(Number(arg('keys', '3')));
const redisUrl = arg('redis');
const store = redisUrl
  ? new ((await import(new URL('lib/redis.js', dist).href)) as typeof import('../../dist/lib/redis.js')).RedisStore({
      url: redisUrl,
      prefix: `bench-${process.pid}:`,
    })
  : undefined;
const accessToken = arg('access-token');
const clientCount = Number(arg('clients', '0'));
const access = !accessToken
  ? {}
  : clientCount === 0
    ? { accessTokens: [accessToken] }
    : {
        clients: Array.from({ length: clientCount }, (_, i) => ({
          name: `client-${i}`,
          token: i === 0 ? accessToken : `${accessToken}-${i}`,
          dailyRequests: 1_000_000_000,
          requestsPerMinute: 1_000_000_000,
          maxInFlight: 100_000,
          models: ['Qwen/Qwen2.5-7B-Instruct', `other/model-${i}`],
        })),
      };
const app = express();
app.use(
  modelscopeBalance({
    keys,
    target: arg('target'),
    ...(failover
      ? { cooldown: { baseMs: 1, maxMs: 1 }, quota: { assumeExhaustedAfter: Number.MAX_SAFE_INTEGER } }
      : {}),
    ...(store ? { store } : {}),
    ...access,
  }),
);
const server = app.listen(0, '127.0.0.1', () => announce(server));
