import type { Agent, ClientRequest } from 'node:http';
import type { HealthCheckOptions } from '../options/options.js';
import type { KeyPool } from '../pool/pool.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { RequestTarget } from './target.js';

export type ProbeResult = 'ok' | 'failed' | 'refused';

/** Longest gap between two probe starts; small pools are probed almost at once. */
const MAX_PROBE_SPACING_MS = 10;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface HealthCheckerDeps {
  pool: KeyPool;
  target: RequestTarget;
  agent: Agent;
  options: HealthCheckOptions;
  now: () => number;
  onProbe(entry: PoolEntry, result: ProbeResult): void;
}

/**
 * Active probes: `GET target + path` with each key, at start and then every
 * `intervalMs`, with at most `concurrency` probes under way, so a large pool is
 * probed at a steady pace. Timers are unref'd and never keep a process alive.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly probes = new Set<ClientRequest>();

  constructor(private readonly deps: HealthCheckerDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.runRound(), this.deps.options.intervalMs);
    this.timer.unref();
    setImmediate(() => void this.runRound()).unref();
  }

  /** One round over every key; a round still running when the next is due is not doubled. */
  runRound(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.running) {
      this.running = this.probeAll().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const probe of this.probes) probe.destroy();
    await this.running;
  }

  /**
   * Keys that served a request successfully within the interval are skipped.
   * Probe starts are spread over half the interval (at most 10 ms apart), so
   * 10 000 keys mean a steady trickle of probes, not a burst against the upstream.
   */
  private async probeAll(): Promise<void> {
    const entries = this.deps.pool.entries;
    const spacing = Math.min(MAX_PROBE_SPACING_MS, this.deps.options.intervalMs / 2 / entries.length);
    const roundStart = performance.now();
    const { now } = this.deps;
    let next = 0;
    let probed = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopped && next < entries.length) {
        const entry = entries[next++];
        // A healthy key that served a request within the interval needs no probe: traffic already showed it works.
        if (entry.state.status === 'healthy' && now() - entry.state.lastSuccessAt < this.deps.options.intervalMs)
          continue;
        // An operator's hold: probes don't change it, so they are not sent.
        if (entry.state.disabled) continue;
        const wait = roundStart + probed++ * spacing - performance.now();
        if (wait >= 1) await sleep(wait);
        if (this.stopped) return;
        const result = await this.probe(entry);
        if (!this.stopped) this.deps.onProbe(entry, result);
      }
    };
    const workers = Math.min(this.deps.options.concurrency, entries.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /** Probes one key now (an operator's check) and reports the result like a round would. */
  async probeNow(entry: PoolEntry): Promise<ProbeResult> {
    const result = await this.probe(entry);
    this.deps.onProbe(entry, result);
    return result;
  }

  private probe(entry: PoolEntry): Promise<ProbeResult> {
    const { target, agent, options } = this.deps;
    return new Promise((resolve) => {
      let request: ClientRequest;
      try {
        request = target.transport.request({
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: 'GET',
          path: target.basePath + options.path,
          agent,
          headers: { authorization: `Bearer ${entry.key}`, accept: 'application/json', 'accept-encoding': 'identity' },
        });
      } catch {
        // Node refused to build the request (a header it can't send): a failed probe, never an unhandled rejection.
        resolve('failed');
        return;
      }
      this.probes.add(request);
      const done = (result: ProbeResult): void => {
        this.probes.delete(request);
        resolve(result);
      };
      request.setTimeout(options.timeoutMs, () => request.destroy(new Error('probe timeout')));
      request.once('error', () => done('failed'));
      // A 101 (or any close before an answer) gives no 'response' and no 'error'.
      let answered = false;
      request.once('close', () => {
        if (!answered) done('failed');
      });
      request.once('response', (response) => {
        answered = true;
        const status = response.statusCode ?? 500;
        response.resume();
        response.once('end', () =>
          done(status === 401 || status === 403 ? 'refused' : status >= 500 ? 'failed' : 'ok'),
        );
        response.once('error', () => done('failed'));
      });
      request.end();
    });
  }
}
