import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryOf } from './processes.js';
import { benchKeys } from './servers/common.js';

/**
 * Key changes at scale: one `addKey` in a pool of 5,000 keys (target under 50 ms), `replaceKeys` with 20,000 keys
 * (under 2 s), and the standalone server applying a keys file of 100,000 lines while /health is polled back to back
 * (blocked under 1 s in total), with its resident memory before and after. The compiled package (`dist/`), as users
 * run it. Part of `npm run bench`; alone: `npm run bench:keys`.
 */
export interface KeyChangeFigures {
  /** One addKey at 5,000 keys: median and worst of 20, ms. */
  addKeyAt5000: { medianMs: number; maxMs: number };
  /** replaceKeys from 3 keys to 20,000, ms. */
  replaceWith20000Ms: number;
  keysFile100000: {
    /** From the file's rename to /health showing 100,000 keys, ms. */
    appliedMs: number;
    /** /health answers slower than 20 ms while it applied: the sum of their times, and the worst, ms. */
    blockedMs: number;
    worstHealthMs: number;
    /** The server's resident memory with 3 keys and with 100,000, MiB. */
    rss3KeysMiB: number;
    rss100000KeysMiB: number;
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

async function inProcess(): Promise<Pick<KeyChangeFigures, 'addKeyAt5000' | 'replaceWith20000Ms'>> {
  const { modelscopeBalance } = await import('../dist/lib/index.js');
  const keys = benchKeys(25_100);
  const pool = modelscopeBalance({ keys: keys.slice(0, 5_000), healthCheck: false });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    pool.addKey({ key: keys[25_000 + i], label: `added-${i}` });
    times.push(performance.now() - started);
  }
  await pool.close();
  times.sort((a, b) => a - b);
  const small = modelscopeBalance({ keys: keys.slice(0, 3), healthCheck: false });
  const started = performance.now();
  small.replaceKeys(keys.slice(5_000, 25_000));
  const replaceWith20000Ms = performance.now() - started;
  await small.close();
  return {
    addKeyAt5000: { medianMs: round(times[10]), maxMs: round(times[19]) },
    replaceWith20000Ms: round(replaceWith20000Ms),
  };
}

interface Poll {
  ms: number;
  totalKeys: number;
}

function getHealth(port: number, agent: http.Agent): Promise<Poll> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ ms: performance.now() - started, totalKeys: JSON.parse(body).total_keys }));
      })
      .on('error', reject);
  });
}

async function keysFile(): Promise<KeyChangeFigures['keysFile100000']> {
  const dir = mkdtempSync(join(tmpdir(), 'msb-bench-keys-'));
  const file = join(dir, 'keys');
  const keys = benchKeys(100_000);
  writeFileSync(file, `${keys.slice(0, 3).join('\n')}\n`);
  const server = spawn(process.execPath, [new URL('../dist/example/server.js', import.meta.url).pathname], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      MODELSCOPE_API_KEYS_FILE: file,
      MODELSCOPE_TARGET_URL: 'http://127.0.0.1:9',
      HEALTH_CHECK: 'false',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Not the repository: its config.json holds placeholders.
    cwd: dir,
  });
  let output = '';
  server.stdout.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-10_000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const check = setInterval(() => {
      const match = /listening on http:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        clearInterval(check);
        resolve(Number(match[1]));
      } else if (server.exitCode !== null) {
        clearInterval(check);
        reject(new Error(`the server exited: ${output}`));
      }
    }, 20);
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 200; i++) await getHealth(port, agent);
  const rss3KeysMiB = memoryOf(server.pid ?? 0).rss / 2 ** 20;
  const staged = join(dir, 'keys.new');
  writeFileSync(staged, `${keys.join('\n')}\n`);
  const polls: Poll[] = [];
  const renamedAt = performance.now();
  renameSync(staged, file);
  let appliedAt = 0;
  while (performance.now() - renamedAt < 60_000) {
    const poll = await getHealth(port, agent);
    polls.push(poll);
    if (poll.totalKeys === 100_000 && appliedAt === 0) appliedAt = performance.now();
    if (appliedAt > 0 && performance.now() - appliedAt > 500) break;
  }
  const rss100000KeysMiB = memoryOf(server.pid ?? 0).rss / 2 ** 20;
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  const slow = polls.filter((poll) => poll.ms > 20);
  return {
    appliedMs: appliedAt === 0 ? Number.NaN : round(appliedAt - renamedAt),
    blockedMs: round(slow.reduce((sum, poll) => sum + poll.ms, 0)),
    worstHealthMs: round(Math.max(...polls.map((poll) => poll.ms))),
    rss3KeysMiB: round(rss3KeysMiB),
    rss100000KeysMiB: round(rss100000KeysMiB),
  };
}

/** Runs every key-change measurement and prints one line each. */
export async function keyChangeCost(): Promise<KeyChangeFigures> {
  const { addKeyAt5000, replaceWith20000Ms } = await inProcess();
  console.log(
    `one addKey at 5,000 keys: median ${addKeyAt5000.medianMs} ms, worst ${addKeyAt5000.maxMs} ms (target < 50 ms)`,
  );
  console.log(`replaceKeys with 20,000 keys: ${replaceWith20000Ms} ms (target < 2,000 ms)`);
  const file = await keysFile();
  console.log(
    `a 100,000-key keys file, applied by the standalone server in ${file.appliedMs} ms: /health blocked ` +
      `${file.blockedMs} ms in total (target < 1,000 ms), worst answer ${file.worstHealthMs} ms; resident memory ` +
      `${file.rss3KeysMiB} MiB with 3 keys, ${file.rss100000KeysMiB} MiB with 100,000`,
  );
  return { addKeyAt5000, replaceWith20000Ms, keysFile100000: file };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log('Key changes (the compiled package):');
  await keyChangeCost();
}
