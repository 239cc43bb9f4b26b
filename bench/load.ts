import http from 'node:http';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time the contender's process spent per request, in microseconds (when measured). */
  cpuUsPerRequest?: number;
}

const CHAT = JSON.stringify({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'hi' }] });

/** A small JSON chat completion at `connections`, for `seconds`. */
export async function loadTest(
  port: number,
  connections: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: CHAT,
    connections,
    duration: seconds,
    pipelining: 1,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** A POST of the small chat completion to a contender on loopback (the body is sent with `end(CHAT)`). */
function chatRequest(port: number, agent: http.Agent): http.RequestOptions {
  return {
    host: '127.0.0.1',
    port,
    path: '/v1/chat/completions',
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json' },
  };
}

/**
 * Sequential requests on one keep-alive connection, timed one by one with a
 * monotonic clock (autocannon reports whole milliseconds, too coarse here).
 */
export async function sequentialLatency(
  port: number,
  count: number,
): Promise<{ p50: number; p99: number; byAttempts: Record<string, number[]> }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const byAttempts: Record<string, number[]> = {};
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const attempts = await new Promise<string>((resolve, reject) => {
      const req = http.request(chatRequest(port, agent), (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.headers['x-modelscope-balance-attempts'] ?? '-')));
      });
      req.on('error', reject);
      req.end(CHAT);
    });
    const took = performance.now() - started;
    times.push(took);
    (byAttempts[attempts] ??= []).push(took);
  }
  agent.destroy();
  return { p50: percentile(times, 50), p99: percentile(times, 99), byAttempts };
}

export interface StreamResult {
  completed: number;
  failed: number;
  /** Per chunk: arrival at the client minus departure from the upstream, in ms. */
  delays: number[];
}

/** `count` concurrent SSE streams; each chunk carries the time it left the upstream. */
export async function streamTest(port: number, count: number): Promise<StreamResult> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const delays: number[] = [];
  let completed = 0;
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = http.request(chatRequest(port, agent), (res) => {
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = performance.timeOrigin + performance.now();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const match = /"created_ms":([\d.]+)/.exec(event);
            if (match) delays.push(now - Number(match[1]));
          }
        });
        res.on('end', () => {
          completed++;
          resolve();
        });
        res.on('error', () => {
          failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
    });
  await Promise.all(Array.from({ length: count }, one));
  agent.destroy();
  return { completed, failed, delays };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
