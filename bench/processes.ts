import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Running {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/**
 * Where processes run: with two cores or more (and `taskset`), the contender gets a core of its own and the load
 * generator and the imitation share another, so a contender's throughput is bounded by its own work, not by how the
 * scheduler happened to share two cores among three busy processes.
 */
export const PINNED = cpus().length >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
export const LOAD_CORE = 0;
export const CONTENDER_CORE = 1;

/** Pins a process, every thread of it, to one core, or lets it run on `'any'` again (a no-op where pinning is off). */
export function pinTo(pid: number, core: number | 'any'): void {
  const cores = core === 'any' ? `0-${cpus().length - 1}` : String(core);
  if (PINNED) spawnSync('taskset', ['-a', '-pc', cores, String(pid)], { stdio: 'ignore' });
}

/** CPU time (user + system) a process has used so far, in milliseconds (Linux /proc, 100 ticks a second). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts a bench server script as its own process (pinned to `core` if given) and waits for its READY line. */
export async function startScript(name: string, script: string, args: string[] = [], core?: number): Promise<Running> {
  const path = new URL(`./servers/${script}`, import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', TSX, path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const running = await waitReady(name, child);
  if (core !== undefined) pinTo(running.pid, core);
  return running;
}

function waitReady(name: string, child: ChildProcess): Promise<Running> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) resolve(handle(name, child, Number(match[1])));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it was ready`)));
  });
}

function handle(name: string, child: ChildProcess, port: number): Running {
  return {
    name,
    port,
    pid: child.pid ?? 0,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Resident memory of a process, and its peak so far, in bytes (Linux /proc). */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** nginx (one worker, upstream keepalive) when installed; undefined otherwise. */
export async function startNginx(upstreamPort: number, port: number): Promise<Running | undefined> {
  const binary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => spawnSync('test', ['-x', p]).status === 0);
  if (!binary) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'msb-nginx-'));
  writeFileSync(
    join(dir, 'nginx.conf'),
    `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  upstream modelscope { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://modelscope;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer ms-bench-nginx";
      proxy_buffering off;
    }
  }
}`,
  );
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  if (child.exitCode !== null) return undefined;
  pinTo(child.pid ?? 0, CONTENDER_CORE);
  return handle('nginx', child, port);
}
