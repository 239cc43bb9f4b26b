import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { KeyPool } from './pool.js';
import { shownStatus } from './pool-entry.js';

/** Time to the upstream's response headers: LLM calls take from tens of ms to minutes. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300];
const STATES = ['healthy', 'cooling', 'unhealthy', 'invalid', 'exhausted'] as const;

/**
 * The balancer's metrics. Created once per (registry, prefix); balancers that
 * share both share the metrics, and the pool gauges are read at scrape time
 * from every pool attached, so no timer keeps them current.
 */
export class BalancerMetrics {
  readonly requests: Counter<'key' | 'code'>;
  readonly latency: Histogram<'key'>;
  readonly healthChecks: Counter<'key' | 'result'>;
  readonly noKeyAvailable: Counter<'reason'>;
  readonly retries: Counter<'reason'>;
  readonly stateChanges: Counter<'key' | 'to' | 'reason'>;
  private readonly pools = new Set<KeyPool>();

  private constructor(registry: Registry, prefix: string) {
    const pools = this.pools;
    const registers = [registry];
    this.requests = new Counter({
      name: `${prefix}requests_total`, help: 'Requests forwarded upstream, by key and upstream status code (error/timeout when none came).',
      labelNames: ['key', 'code'], registers,
    });
    this.latency = new Histogram({
      name: `${prefix}upstream_response_seconds`, help: 'Time from sending a request upstream to its response headers (time to first byte).',
      labelNames: ['key'], buckets: LATENCY_BUCKETS, registers,
    });
    this.healthChecks = new Counter({
      name: `${prefix}health_checks_total`, help: 'Active health probes by key and result (ok, failed, refused).',
      labelNames: ['key', 'result'], registers,
    });
    this.noKeyAvailable = new Counter({
      name: `${prefix}no_key_available_total`, help: 'Requests answered without an upstream call because no key could take them.',
      labelNames: ['reason'], registers,
    });
    // Known reasons start at 0, so rate() and alerts work before the first refusal.
    for (const reason of ['unavailable', 'cooling', 'exhausted']) this.noKeyAvailable.inc({ reason }, 0);
    this.retries = new Counter({
      name: `${prefix}retries_total`, help: 'Attempts moved to another key, by what failed (status code, reset, timeout, refused).',
      labelNames: ['reason'], registers,
    });
    this.stateChanges = new Counter({
      name: `${prefix}key_state_changes_total`, help: 'Key state changes by key, new state and reason.',
      labelNames: ['key', 'to', 'reason'], registers,
    });
    new Gauge({
      name: `${prefix}key_healthy`, help: '1 when the key can take a request now, else 0.', labelNames: ['key'], registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          const now = pool.now();
          for (const entry of pool.entries) this.set({ key: entry.label }, pool.isUsable(entry, now) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: `${prefix}key_state`, help: 'The key\'s state: 1 for the current one, 0 for the others.', labelNames: ['key', 'state'], registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          const now = pool.now();
          for (const entry of pool.entries) {
            const current = shownStatus(entry, now);
            for (const state of STATES) this.set({ key: entry.label, state }, state === current ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: `${prefix}key_in_flight`, help: 'Requests under way on the key.', labelNames: ['key'], registers,
      collect() {
        this.reset();
        for (const pool of pools) for (const entry of pool.entries) this.set({ key: entry.label }, entry.state.inFlight);
      },
    });
    new Gauge({
      name: `${prefix}key_quota_remaining`, help: 'Requests left in the key\'s (account\'s) daily allowance, as last reported by ModelScope.',
      labelNames: ['key'], registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          const now = pool.now();
          for (const entry of pool.entries) {
            const remaining = entry.account.remainingNow(now);
            if (Number.isFinite(remaining)) this.set({ key: entry.label }, remaining);
          }
        }
      },
    });
  }

  private static readonly shared = new WeakMap<Registry, Map<string, BalancerMetrics>>();

  /** The metrics of `registry` under `prefix`, created on first use. */
  static for(registry: Registry, prefix: string): BalancerMetrics {
    let byPrefix = BalancerMetrics.shared.get(registry);
    if (!byPrefix) BalancerMetrics.shared.set(registry, (byPrefix = new Map()));
    let metrics = byPrefix.get(prefix);
    if (!metrics) byPrefix.set(prefix, (metrics = new BalancerMetrics(registry, prefix)));
    return metrics;
  }

  /** Adds a pool's keys; their histograms start at zero, so dashboards see every key and no request pays to create one. */
  attach(pool: KeyPool): void {
    this.pools.add(pool);
    for (const entry of pool.entries) this.latency.zero({ key: entry.label });
  }

  detach(pool: KeyPool): void {
    this.pools.delete(pool);
  }
}
