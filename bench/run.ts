import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { loadTest, percentile, sequentialLatency, streamTest, type LoadResult } from './load.js';
import {
  CONTENDER_CORE,
  cpuMsOf,
  LOAD_CORE,
  memoryOf,
  PINNED,
  pinTo,
  startNginx,
  startScript,
  type Running,
} from './processes.js';
import { httpsRound } from './https-upstream.js';
import { quotaYield } from './quota-yield.js';
import { keyChangeCost } from './key-changes.js';
import { nonReaderCost } from './non-readers.js';
import { clientsCost } from './clients-cost.js';
import { requestModelCost } from './request-model-cost.js';
import { scrubCost } from './scrub-cost.js';
import { selectionCost } from './selection.js';
import { usageTapCost } from './usage-tap-cost.js';
import { runHostileSoak } from '../test/fixtures/hostile-soak.js';
import { startRedis, type RedisProcess } from '../test/fixtures/redis-server.js';

/**
 * `npm run bench`: the balancer's cost next to a bare proxy, in one run on
 * this machine. Every contender is its own process on loopback, in front of
 * the same ModelScope imitation; autocannon drives them from this process.
 * Settings: BENCH_SECONDS (per load test, default 8), BENCH_ROUNDS (default 5), BENCH_STREAMS (default 1000),
 * BENCH_BASELINE (a built checkout of another version, such as the previous release: its `dist/` runs beside this
 * one in the same rounds, through the same server script, so CPU per request and throughput compare in one run).
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const CONNECTIONS = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BASELINE = process.env.BENCH_BASELINE;
/** The previous build's contender (BENCH_BASELINE), compared with 'balancer, 3 keys' of this one. */
const BASELINE_NAME = 'balancer (baseline), 3 keys';

/** The round with the median throughput. */
function medianRound(results: LoadResult[]): LoadResult {
  return [...results].sort((a, b) => a.rps - b.rps)[Math.floor(results.length / 2)];
}
/**
 * The median over rounds of a/b, each ratio taken within one round: contenders measured minutes apart on a shared
 * machine see different machines, so a ratio of medians would mostly measure the drift.
 */
function pairedRatio(
  rounds: Record<string, LoadResult[]>,
  a: string,
  b: string,
  field: 'rps' | 'p99' | 'cpuUsPerRequest',
): number | null {
  if (!rounds[a] || !rounds[b]) return null;
  const ratios = rounds[a].map((result, i) => (result[field] ?? 0) / (rounds[b][i][field] ?? 1)).sort((x, y) => x - y);
  return Math.round(ratios[Math.floor(ratios.length / 2)] * 100) / 100;
}
const ms = (n: number) => `${n.toFixed(2)} ms`;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

async function measure(contender: Running): Promise<LoadResult> {
  await loadTest(contender.port, CONNECTIONS, 2); // warm-up: JIT, keep-alive sockets
  const cpuBefore = cpuMsOf(contender.pid);
  const result = await loadTest(contender.port, CONNECTIONS, SECONDS);
  result.cpuUsPerRequest = Math.round(((cpuMsOf(contender.pid) - cpuBefore) * 1000) / (result.rps * SECONDS));
  console.log(
    `${contender.name.padEnd(22)} ${result.rps.toFixed(0).padStart(7)} req/s   p50 ${ms(result.p50)}   p99 ` +
      `${ms(result.p99)}   errors ${result.errors + result.non2xx}   cpu ${result.cpuUsPerRequest} µs/request`,
  );
  return result;
}

async function main(): Promise<void> {
  console.log(
    `modelscope-balance bench on ${cpus().length} cores, node ${process.version}: ${CONNECTIONS} connections, ` +
      `${SECONDS} s each; ` +
      `${PINNED ? 'for throughput, each contender on a core of its own' : 'processes not pinned to cores'}\n`,
  );
  // Throughput: each contender on a core of its own, the load generator, the imitation and Redis on the other.
  pinTo(process.pid, LOAD_CORE);
  const upstream = await startScript('upstream', 'upstream.ts', [], LOAD_CORE);
  const target = ['--target', `http://127.0.0.1:${upstream.port}`];
  const results: Record<string, LoadResult | null> = {};
  const direct: Running = { ...upstream, name: 'direct' };
  results.direct = await measure(direct);

  // The three the targets compare are measured in alternating rounds, each in a fresh
  // process, and the median round kept: one run on a shared machine is noisy.
  const redis: RedisProcess | undefined = await startRedis().catch(() => undefined);
  if (redis) pinTo(redis.pid(), LOAD_CORE);
  const compared: Array<[string, string, string[]]> = [
    ['floor (hpm)', 'floor.ts', target],
    ['balancer, 3 keys', 'balancer.ts', [...target, '--keys', '3']],
    ...(BASELINE
      ? [
          [BASELINE_NAME, 'balancer.ts', [...target, '--keys', '3', '--dist', `${BASELINE}/dist`]] as [
            string,
            string,
            string[],
          ],
        ]
      : []),
    ['balancer, 10000 keys', 'balancer.ts', [...target, '--keys', '10000']],
    ...(redis
      ? [
          ['balancer, 3 keys, RedisStore', 'balancer.ts', [...target, '--keys', '3', '--redis', redis.url]] as [
            string,
            string,
            string[],
          ],
        ]
      : []),
  ];
  const rounds: Record<string, LoadResult[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, script, args] of compared) {
      const running = await startScript(name, script, args, CONTENDER_CORE);
      (rounds[name] ??= []).push(await measure(running));
      await running.stop();
    }
  }
  for (const [name] of compared) results[name] = medianRound(rounds[name]);
  if (!redis)
    console.log('balancer with RedisStore skipped: redis-server not installed (apt-get install redis-server)');
  await redis?.stop();
  for (const [name, start] of [
    ['standalone server', () => startScript('standalone server', 'standalone.ts', target, CONTENDER_CORE)],
    ['node:http proxy', () => startScript('node:http proxy', 'node-proxy.ts', target, CONTENDER_CORE)],
    ['nginx', () => startNginx(upstream.port, 18080 + Math.floor(Math.random() * 1000))],
  ] as Array<[string, () => Promise<Running | undefined>]>) {
    const running = await start();
    if (!running) {
      console.log(`${name.padEnd(22)} skipped: not installed (apt-get install nginx)`);
      results[name] = null;
      continue;
    }
    results[name] = await measure(running);
    await running.stop();
  }

  // Latency, streams and the soak: every process may run anywhere again, as in production.
  pinTo(process.pid, 'any');
  pinTo(upstream.pid, 'any');

  console.log('\nAt 1 connection, 2,000 sequential requests (p50 added over direct):');
  const single: Record<string, { p50: number; p99: number }> = {};
  single.direct = await sequentialLatency(upstream.port, 2000);
  const balancer = await startScript('balancer, 3 keys', 'balancer.ts', [...target, '--keys', '3']);
  await sequentialLatency(balancer.port, 500);
  single.balancer = await sequentialLatency(balancer.port, 2000);
  await balancer.stop();
  const addedP50 = single.balancer.p50 - single.direct.p50;
  console.log(`direct p50 ${ms(single.direct.p50)}, balancer p50 ${ms(single.balancer.p50)}: adds ${ms(addedP50)}`);

  console.log('\nWhat a failover costs (first key answers 429, the second 200), 2,000 sequential requests:');
  const failing = await startScript('balancer, failover', 'balancer.ts', [...target, '--failover']);
  await sequentialLatency(failing.port, 300);
  const failover = await sequentialLatency(failing.port, 2000);
  await failing.stop();
  // When the 1 ms cooldown always runs out before the next request, every request fails over and the one-attempt
  // figure comes from the healthy balancer's run above (same requests, same sequence).
  const oneAttempt = failover.byAttempts['1'] ?? [];
  const plainP50 = oneAttempt.length >= 100 ? percentile(oneAttempt, 50) : single.balancer.p50;
  const failoverP50 = percentile(failover.byAttempts['2'] ?? [], 50);
  const failoverCost = failoverP50 - plainP50;
  console.log(
    `one attempt p50 ${ms(plainP50)} (${oneAttempt.length >= 100 ? oneAttempt.length : 'healthy run, 2000'} ` +
      `requests), two attempts p50 ${ms(failoverP50)} (${failover.byAttempts['2']?.length ?? 0}): a failover adds ` +
      `${ms(failoverCost)}`,
  );

  console.log(`\n${STREAMS} concurrent SSE streams (20 chunks, 50 ms apart), two alternating rounds, best kept:`);
  type StreamFigures = { completed: number; failed: number; median: number; p99: number; bytesPerStream: number };
  const streams: Record<string, StreamFigures> = {};
  const streamContenders = [
    ['floor (hpm)', 'floor.ts', target],
    ['balancer, 3 keys', 'balancer.ts', [...target, '--keys', '3']],
  ] as const;
  // One moment of interference on a shared machine can add tens of milliseconds to every chunk of a round: each
  // contender gets two rounds and keeps the one with the lower median delay (every stream must complete in both).
  for (let round = 0; round < 2; round++) {
    for (const [name, script, args] of round % 2 ? [...streamContenders].reverse() : streamContenders) {
      const running = await startScript(name, script, [...args]);
      await streamTest(running.port, 10);
      const idle = memoryOf(running.pid).rss;
      const result = await streamTest(running.port, STREAMS);
      const peak = memoryOf(running.pid).peak;
      await running.stop();
      const figures: StreamFigures = {
        completed: Math.min(result.completed, streams[name]?.completed ?? STREAMS),
        failed: Math.max(result.failed, streams[name]?.failed ?? 0),
        median: percentile(result.delays, 50),
        p99: percentile(result.delays, 99),
        bytesPerStream: Math.max(0, (peak - idle) / STREAMS),
      };
      console.log(
        `${name.padEnd(22)} completed ${result.completed}/${STREAMS}, chunk delay median ${ms(figures.median)} ` +
          `p99 ${ms(figures.p99)}, memory ${(figures.bytesPerStream / 1024).toFixed(1)} KiB per stream`,
      );
      if (!streams[name] || figures.median < streams[name].median) streams[name] = figures;
      else Object.assign(streams[name], { completed: figures.completed, failed: figures.failed });
    }
  }
  await upstream.stop();

  // Over TLS, as ModelScope is served: connection reuse matters there, a handshake per request would show.
  console.log('\nThe balancer in front of an HTTPS upstream (a CA made now with openssl), next to plain HTTP:');
  const tls = await httpsRound(SECONDS);
  for (const [name, value] of Object.entries(tls)) console.log(`  ${name.padEnd(80)} ${value}`);

  const selection = {
    roundRobin3: selectionCost(3, 'round-robin'),
    roundRobin10k: selectionCost(10_000, 'round-robin'),
    weighted3: selectionCost(3, 'weighted'),
    weighted10k: selectionCost(10_000, 'weighted'),
  };
  const scrubbing = { keys3: scrubCost(3), keys10k: scrubCost(10_000) };
  console.log(
    `\nScrubbing streamed bodies for key pieces: ${scrubbing.keys3.toFixed(1)} ns/byte (3 keys), ` +
      `${scrubbing.keys10k.toFixed(1)} ns/byte (10,000 keys)`,
  );
  const usageTap = usageTapCost();
  console.log(
    `Reading token usage as answers pass: ${usageTap.sse.toFixed(2)} ns/byte (20-chunk SSE answer), ` +
      `${usageTap.json1MB.toFixed(2)} ns/byte (1 MB JSON chat answer), ${usageTap.jsonNumbers1MB.toFixed(2)} ns/byte ` +
      '(1 MB of embeddings)',
  );
  const requestModel = requestModelCost();
  console.log(
    `Reading a request's model: ${requestModel.read2KB.toFixed(2)} ns/byte (2 KB chat body), ` +
      `${requestModel.read1MBImage.toFixed(2)} ns/byte (1 MB image); rewriting it ${requestModel.rewrite2KB.toFixed(2)} ` +
      `ns/byte; JSON.parse ${requestModel.jsonParse2KB.toFixed(2)} ns/byte`,
  );
  console.log(
    `Key selection: round robin ${selection.roundRobin3.toFixed(0)} ns (3 keys) vs ` +
      `${selection.roundRobin10k.toFixed(0)} ns (10,000 keys); weighted ${selection.weighted3.toFixed(0)} ns vs ` +
      `${selection.weighted10k.toFixed(0)} ns`,
  );

  // What users of a pool without quota counters feel: a simulated day of allowance delivered and calls wasted.
  const quota = await quotaYield();
  console.log('\nKey changes (npm run bench:keys runs them alone):');
  const keyChanges = await keyChangeCost();
  console.log('\nClients that never read (node --import tsx bench/non-readers.ts runs it alone):');
  const nonReaders = await nonReaderCost();
  console.log('\nNamed clients (node --import tsx bench/clients-cost.ts runs it alone):');
  const clients = await clientsCost(SECONDS, Math.min(ROUNDS, 3));
  for (const [name, value] of Object.entries(clients)) console.log(`  ${name.padEnd(80)} ${value ?? 'n/a'}`);

  const three = results['balancer, 3 keys'] as LoadResult;
  const handWritten = results['node:http proxy'];
  const nginx = results.nginx;
  const ratios = {
    'throughput balancer/floor (target >= 0.90)': pairedRatio(rounds, 'balancer, 3 keys', 'floor (hpm)', 'rps'),
    'CPU per request balancer/floor': pairedRatio(rounds, 'balancer, 3 keys', 'floor (hpm)', 'cpuUsPerRequest'),
    'CPU per request balancer/baseline (target <= 1.00)': pairedRatio(
      rounds,
      'balancer, 3 keys',
      BASELINE_NAME,
      'cpuUsPerRequest',
    ),
    'throughput balancer/baseline': pairedRatio(rounds, 'balancer, 3 keys', BASELINE_NAME, 'rps'),
    'p99 balancer/floor (target <= 1.10)': pairedRatio(rounds, 'balancer, 3 keys', 'floor (hpm)', 'p99'),
    'throughput 10000 keys/3 keys (target >= 0.95)': pairedRatio(
      rounds,
      'balancer, 10000 keys',
      'balancer, 3 keys',
      'rps',
    ),
    'throughput RedisStore/memory store (target >= 0.95)': pairedRatio(
      rounds,
      'balancer, 3 keys, RedisStore',
      'balancer, 3 keys',
      'rps',
    ),
    'p50 RedisStore minus memory store, ms': results['balancer, 3 keys, RedisStore']
      ? (results['balancer, 3 keys, RedisStore'] as LoadResult).p50 - three.p50
      : null,
    'throughput balancer/direct': ratio(three.rps, (results.direct as LoadResult).rps),
    'throughput balancer/node:http proxy': handWritten ? ratio(three.rps, handWritten.rps) : null,
    'throughput standalone server/node:http proxy': handWritten
      ? ratio((results['standalone server'] as LoadResult).rps, handWritten.rps)
      : null,
    'throughput balancer/nginx': nginx ? ratio(three.rps, nginx.rps) : null,
    'p50 added at 1 connection, ms (target < 1)': Math.round(addedP50 * 100) / 100,
    'p50 added by one failover (429 then 200), ms': Math.round(failoverCost * 100) / 100,
    'stream chunk delay over floor, median ms (target < 2)':
      Math.round((streams['balancer, 3 keys'].median - streams['floor (hpm)'].median) * 100) / 100,
    'stream chunk delay over floor, p99 ms':
      Math.round((streams['balancer, 3 keys'].p99 - streams['floor (hpm)'].p99) * 100) / 100,
    'memory per open stream, KiB (target < 64)':
      Math.round((streams['balancer, 3 keys'].bytesPerStream / 1024) * 10) / 10,
    'points delivered without counters, % (target 100)':
      Math.round(quota.worlds['plain 429 when used up'].delivered * 1000) / 10,
    'calls wasted per used-up key a day, max (target <= 51)': Math.max(
      ...quota.worlds['plain 429 when used up'].wastedPerKey,
      ...quota.worlds['403 QuotaLimitExceed when used up'].wastedPerKey,
    ),
  };
  console.log('\nRatios:');
  for (const [name, value] of Object.entries(ratios)) console.log(`  ${name.padEnd(56)} ${value ?? 'n/a'}`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/latest.json', import.meta.url),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        cores: cpus().length,
        node: process.version,
        seconds: SECONDS,
        connections: CONNECTIONS,
        pinned: PINNED,
        results,
        rounds,
        single: {
          direct: { p50: single.direct.p50, p99: single.direct.p99 },
          balancer: { p50: single.balancer.p50, p99: single.balancer.p99 },
        },
        failover: {
          onePlainP50: plainP50,
          twoAttemptsP50: failoverP50,
          counts: { 1: failover.byAttempts['1']?.length ?? 0, 2: failover.byAttempts['2']?.length ?? 0 },
        },
        streams,
        selection,
        scrubbing,
        usageTap,
        requestModel,
        tls,
        quota,
        keyChanges,
        nonReaders,
        clients,
        ratios,
      },
      null,
      2,
    )}\n`,
  );
  console.log('\nWritten to bench/results/latest.json');

  // Last, the hostile soak (a minute; SOAK_SECONDS=0 skips it): robustness under load is part of what users feel.
  const soakSeconds = Number(process.env.SOAK_SECONDS ?? 60);
  if (soakSeconds > 0) {
    console.log(`\nHostile soak for ${soakSeconds} s (npm run soak runs it alone):`);
    const soak = await runHostileSoak(soakSeconds, 20);
    console.log(
      `${soak.requests} requests, ${soak.nonReaders} non-reading clients: ` +
        `${soak.problems.length === 0 ? 'no problem' : soak.problems.join('; ')}`,
    );
    if (soak.problems.length > 0) process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
