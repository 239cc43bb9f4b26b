import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { buildBalancer } from '../lib/balancer.js';
import type { Engine, EngineDeps } from '../lib/engine/engine.js';
import type { Balancer, BalanceOptions } from '../lib/index.js';
import type { Logger } from '../lib/observe/logger.js';
import { startFakeModelScope, type FakeModelScope, type FakeModelScopeOptions } from '../lib/testing/index.js';
import type { PoolSettings } from '../lib/pool/pool.js';

export const KEYS = [
  'ms-11111111-aaaa-4bbb-8ccc-000000000001',
  'ms-22222222-aaaa-4bbb-8ccc-000000000002',
  'ms-33333333-aaaa-4bbb-8ccc-000000000003',
];

/** A well-formed test token (`ms-` and a UUID) numbered `n`: its label is `ms-00…` and the last four hex digits. */
export function testKey(n: number, head = '00000000'): string {
  return `ms-${head}-aaaa-4bbb-8ccc-${n.toString(16).padStart(12, '0')}`;
}

export interface LogLine {
  level: string;
  obj: object;
  msg?: string;
}

/** A logger that keeps every line, for assertions on what was (and wasn't) logged. */
export function captureLogger(): Logger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => JSON.stringify(l)).join('\n'),
  };
}

/** A pool's settings as a replica's unit specs use them: round-robin, short cooldowns, resets at midnight in Beijing. */
export function poolSettings(now: () => number): PoolSettings {
  return {
    strategy: 'round-robin',
    failureThreshold: 3,
    cooldownBaseMs: 5_000,
    cooldownMaxMs: 300_000,
    invalidKeyRetryMs: 1_800_000,
    resetTimeZone: 'Asia/Shanghai',
    resetMinutes: 0,
    now,
  };
}

/** A pool's settings as the pool's unit specs use them: 1 s cooldowns doubling to 8 s, a refused key's trial a minute. */
export function unitPoolSettings(now: () => number, strategy: PoolSettings['strategy'] = 'round-robin'): PoolSettings {
  return { ...poolSettings(now), strategy, cooldownBaseMs: 1000, cooldownMaxMs: 8000, invalidKeyRetryMs: 60_000 };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(ms: number) {
      now = ms;
    },
  };
}

export interface Rig {
  fake: FakeModelScope;
  balancer: Balancer;
  /** The engine under the balancer: its pool and scrubber, for a test that must set a state up directly. */
  engine: Engine;
  app: Express;
  server: Server;
  /** Base URL of the host app, including the mount path. */
  url: string;
  close(): Promise<void>;
}

export interface RigOptions {
  mount?: string;
  fake?: FakeModelScopeOptions;
  /** Middleware the host app mounts before the balancer (body parsers …). */
  before?: express.RequestHandler[];
  /** A base path appended to the imitation's URL as the balancer's target (a gateway at `/gw`). */
  targetPath?: string;
  /** Prepares the imitation before the balancer exists (e.g. probe behaviour for the first round). */
  setup?: (fake: FakeModelScope) => void;
}

/** Options of the balancer, and what its engine may be given instead of its defaults (a clock). */
export type RigBalancerOptions = Partial<BalanceOptions> & EngineDeps;

/** The imitation upstream, a host Express app with the balancer mounted, listening on loopback. */
export async function startRig(options: RigBalancerOptions = {}, rig: RigOptions = {}): Promise<Rig> {
  const fake = await startFakeModelScope(rig.fake);
  rig.setup?.(fake);
  const { now, createProxyMiddleware, ...balancerOptions } = options;
  const { balancer, engine } = buildBalancer(
    {
      keys: KEYS,
      healthCheck: false,
      ...balancerOptions,
      target: options.target ?? fake.url + (rig.targetPath ?? ''),
    },
    { now, createProxyMiddleware },
  );
  const app = express();
  const mount = rig.mount ?? '/ms';
  if (rig.before) app.use(mount, ...rig.before);
  app.use(mount, balancer);
  const server = await listen(app);
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    fake,
    balancer,
    engine,
    app,
    server,
    url: mount === '/' ? base : base + mount,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await balancer.close();
      await fake.close();
    },
  };
}

/** A balancer in a bare Express app on loopback, as one replica of a fleet; `close()` closes both. */
export async function serveReplica(
  balancer: Balancer,
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = await listen(express().use(balancer));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await balancer.close();
    },
  };
}

export function listen(app: http.RequestListener): Promise<Server> {
  const server = http.createServer(app);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Arrival times (ms since the request) of each body chunk. */
  chunkTimes: number[];
  complete: boolean;
}

/** A plain HTTP request that records when each chunk arrived. */
export function request(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Sees each chunk as it arrives (the answer resolves only at its end). */
    onData?: (chunk: string) => void;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const chunkTimes: number[] = [];
      res.on('data', (chunk: Buffer) => {
        init.onData?.(chunk.toString('utf8'));
        chunks.push(chunk);
        chunkTimes.push(performance.now() - started);
      });
      const done = () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          chunkTimes,
          complete: res.complete,
        });
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

export function chat(
  url: string,
  body: object = { model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] },
  headers: Record<string, string> = {},
) {
  return request(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Fails when any 12-character piece of any key occurs in `text`. */
export function assertNoKeyIn(text: string, keys: readonly string[] = KEYS): void {
  for (const key of keys) {
    for (let i = 0; i + 12 <= key.length; i++) {
      const piece = key.slice(i, i + 12);
      if (text.includes(piece))
        throw new Error(`a piece of a key (${piece.slice(0, 3)}…) leaked into: ${text.slice(0, 200)}`);
    }
  }
}

export function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = async () => {
      let ok = false;
      try {
        ok = await check();
      } catch {
        ok = false;
      }
      if (ok) resolve();
      else if (performance.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    void poll();
  });
}
