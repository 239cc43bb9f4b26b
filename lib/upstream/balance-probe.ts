// The optional balance probe (`quota.balanceUrl`): one GET per account with
// one of its keys, rounds every `balanceIntervalMs`, the probes of a round
// spread over half of it, two at a time, off the request path. The key goes
// to that URL only (redirects are not followed), and nothing of the answer but
// three numbers is kept. Timers are unref'd; stop() ends everything.
import http, { type ClientRequest } from 'node:http';
import https from 'node:https';
import type { KeyPool } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { type BalanceReading, readBalance } from './balance-reading.js';

/** Probes under way at once. */
const CONCURRENCY = 2;
/** A balance answer larger than this is not one. */
const MAX_BODY_BYTES = 64 * 1024;
const TIMEOUT_MS = 10_000;

/** A probe's outcome: the figures, or why there are none (our own words, never the answer's). */
export type BalanceResult = { ok: true; reading: BalanceReading } | { ok: false; problem: string };

export interface BalanceProbeDeps {
  pool: KeyPool;
  url: URL;
  intervalMs: number;
  onResult(entry: PoolEntry, result: BalanceResult): void;
}

export class BalanceProbe {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly requests = new Set<ClientRequest>();
  /** Waits between the probes of a round: stop() ends them at once. */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private readonly agent: http.Agent;

  constructor(private readonly deps: BalanceProbeDeps) {
    this.agent =
      deps.url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  start(): void {
    this.timer = setInterval(() => void this.runRound(), this.deps.intervalMs);
    this.timer.unref();
    setImmediate(() => void this.runRound()).unref();
  }

  /** One round over every account; a round still running when the next is due is not doubled. */
  runRound(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.probeAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const request of this.requests) request.destroy();
    for (const [timer, wake] of this.waits) {
      clearTimeout(timer);
      wake();
    }
    await this.running;
    this.agent.destroy();
  }

  /** One key per account (the balance is the account's), skipping keys an operator holds. */
  private async probeAll(): Promise<void> {
    const accounts = new Map<string, PoolEntry>();
    for (const entry of this.deps.pool.entries) {
      if (!entry.state.disabled && !accounts.has(entry.accountName)) accounts.set(entry.accountName, entry);
    }
    const entries = [...accounts.values()];
    const spacing = this.deps.intervalMs / 2 / Math.max(1, entries.length);
    const roundStart = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopped && next < entries.length) {
        const slot = next++;
        const wait = roundStart + slot * spacing - performance.now();
        if (wait >= 1) await this.sleep(wait);
        if (this.stopped) return;
        const result = await this.probe(entries[slot]);
        if (!this.stopped) this.deps.onResult(entries[slot], result);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.waits.set(timer, resolve);
    });
  }

  private probe(entry: PoolEntry): Promise<BalanceResult> {
    const { url } = this.deps;
    return new Promise((resolve) => {
      let request: ClientRequest;
      try {
        request = (url.protocol === 'https:' ? https : http).request(url, {
          method: 'GET',
          agent: this.agent,
          headers: { authorization: `Bearer ${entry.key}`, accept: 'application/json', 'accept-encoding': 'identity' },
        });
      } catch {
        resolve({ ok: false, problem: 'the request could not be made' });
        return;
      }
      this.requests.add(request);
      let settled = false;
      const done = (result: BalanceResult): void => {
        if (settled) return;
        settled = true;
        this.requests.delete(request);
        resolve(result);
      };
      request.setTimeout(Math.min(TIMEOUT_MS, this.deps.intervalMs), () => request.destroy());
      request.once('error', () => done({ ok: false, problem: 'unreachable or timed out' }));
      request.once('close', () => done({ ok: false, problem: 'no answer' }));
      request.once('response', (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          response.resume();
          return done({ ok: false, problem: `answered ${status}` });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            done({ ok: false, problem: 'answer too large' });
            request.destroy();
          } else chunks.push(chunk);
        });
        response.once('end', () => {
          const reading = readBalance(Buffer.concat(chunks).toString('utf8'));
          done(reading ? { ok: true, reading } : { ok: false, problem: 'answer without an available balance' });
        });
        response.once('error', () => done({ ok: false, problem: 'answer broke off' }));
      });
      request.end();
    });
  }
}
