import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeModelScope } from '../dist/lib/testing/index.js';
import { loadTest, sequentialLatency } from './load.js';
import { startScript } from './processes.js';

/**
 * A certificate authority and a server certificate for 127.0.0.1, made now with `openssl` in a temp folder (never
 * kept): the upstream is then served over TLS, as ModelScope is, and the balancer trusts the CA through
 * NODE_EXTRA_CA_CERTS.
 */
function makeCertificates(): { dir: string; key: Buffer; cert: Buffer; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), 'msb-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=msb bench CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.pem'),
  );
  return { dir, key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')), ca: file('ca.pem') };
}

/** One request straight to the upstream on a new connection: what a handshake per request would cost. */
function freshTlsRequest(url: string, ca: Buffer): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}/v1/chat/completions`,
      { method: 'POST', agent: false, ca, headers: { 'content-type': 'application/json', authorization: 'Bearer x' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - started));
      },
    );
    req.on('error', reject);
    req.end('{"model":"m","messages":[{"role":"user","content":"hi"}]}');
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The balancer in front of the same imitation over HTTP and over HTTPS: added latency at one connection, throughput
 * at 50, and how many TLS handshakes the upstream saw per request (the balancer's keep-alive agent reuses them).
 */
export async function httpsRound(seconds: number): Promise<Record<string, number>> {
  const tls = makeCertificates();
  const plain = await startFakeModelScope();
  const secure = await startFakeModelScope({ tls: { key: tls.key, cert: tls.cert } });
  for (const fake of [plain, secure]) fake.received.push = () => 0;
  process.env.NODE_EXTRA_CA_CERTS = tls.ca;
  const results: Record<string, number> = {};
  try {
    for (const [name, fake] of [
      ['http', plain],
      ['https', secure],
    ] as const) {
      const balancer = await startScript(`balancer → ${name}`, 'balancer.ts', ['--target', fake.url, '--keys', '3']);
      await sequentialLatency(balancer.port, 200);
      const before = fake.connections;
      results[`${name}: p50 at 1 connection, ms`] = round2((await sequentialLatency(balancer.port, 1000)).p50);
      const load = await loadTest(balancer.port, 50, seconds);
      results[`${name}: req/s at 50 connections`] = Math.round(load.rps);
      results[`${name}: upstream connections per 1000 requests`] = round2(
        ((fake.connections - before) / (1000 + load.rps * seconds)) * 1000,
      );
      await balancer.stop();
    }
    const fresh: number[] = [];
    const ca = readFileSync(tls.ca);
    for (let i = 0; i < 200; i++) fresh.push(await freshTlsRequest(secure.url, ca));
    results['https straight to the upstream, a new connection (handshake) per request: p50 ms'] = round2(median(fresh));
  } finally {
    delete process.env.NODE_EXTRA_CA_CERTS;
    await plain.close();
    await secure.close();
    rmSync(tls.dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await httpsRound(Number(process.env.BENCH_SECONDS ?? 8)));
}
