import http from 'node:http';
import net from 'node:net';
import { percentile } from './load.js';
import { startScript } from './processes.js';

/**
 * Clients that never read: 20 at a time ask for a fast 26 MB stream, read nothing and leave after half a second
 * (40 a second), while one ordinary client sends small requests one after another. Each such client makes the
 * contender push its socket buffers full (megabytes); what matters is how many answers the ordinary client still gets,
 * next to the same contender without the attack and next to the floor (a bare http-proxy-middleware) under it.
 * Part of `npm run bench`; alone: `node --import tsx bench/non-readers.ts` after `npm run build`.
 */
export interface NonReaderFigures {
  /** Answers the ordinary client got in the run, and their median time, ms. */
  calm: { answers: number; p50: number };
  attacked: { answers: number; p50: number };
  floorAttacked: { answers: number; p50: number };
}

const SECONDS = Number(process.env.NON_READER_SECONDS ?? 10);
const NON_READERS = 20;
const LINGER_MS = 500;

function ordinaryRequest(port: number, agent: http.Agent): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/hostile/ok', method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
    req.end('{"model":"m"}');
  });
}

async function run(port: number, attack: boolean): Promise<{ answers: number; p50: number }> {
  const until = performance.now() + SECONDS * 1000;
  const nonReader = (): void => {
    if (performance.now() > until) return;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('POST /v1/hostile/fast-stream HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
      socket.pause();
    });
    socket.on('error', () => {});
    setTimeout(() => {
      socket.destroy();
      nonReader();
    }, LINGER_MS);
  };
  if (attack) for (let i = 0; i < NON_READERS; i++) nonReader();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  while (performance.now() < until) {
    const ms = await ordinaryRequest(port, agent);
    if (ms >= 0) times.push(ms);
  }
  agent.destroy();
  await new Promise((resolve) => setTimeout(resolve, LINGER_MS + 100));
  return { answers: times.length, p50: Math.round(percentile(times, 50) * 10) / 10 };
}

/** Measures the balancer calm and attacked, and the floor attacked; prints one line. */
export async function nonReaderCost(): Promise<NonReaderFigures> {
  const upstream = await startScript('hostile upstream', 'hostile.ts');
  const target = ['--target', `http://127.0.0.1:${upstream.port}`];
  const measure = async (script: string, args: string[], attack: boolean) => {
    const contender = await startScript(script, script, args);
    const figures = await run(contender.port, attack);
    await contender.stop();
    return figures;
  };
  const calm = await measure('balancer.ts', [...target, '--keys', '3'], false);
  const attacked = await measure('balancer.ts', [...target, '--keys', '3'], true);
  const floorAttacked = await measure('floor.ts', target, true);
  await upstream.stop();
  console.log(
    `an ordinary client, ${SECONDS} s: ${calm.answers} answers (p50 ${calm.p50} ms) alone; ${attacked.answers} ` +
      `(p50 ${attacked.p50} ms) beside ${NON_READERS} clients that never read; the floor under the same attack ` +
      `${floorAttacked.answers} (p50 ${floorAttacked.p50} ms)`,
  );
  return { calm, attacked, floorAttacked };
}

if (import.meta.url === `file://${process.argv[1]}`) await nonReaderCost();
