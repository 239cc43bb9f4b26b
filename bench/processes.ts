import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Running {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** Starts a bench server script as its own process and waits for its READY line. */
export function startScript(name: string, script: string, args: string[] = []): Promise<Running> {
  const path = new URL(`./servers/${script}`, import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', TSX, path, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return waitReady(name, child);
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
  return handle('nginx', child, port);
}
