import { Counter, Gauge, type Registry } from 'prom-client';
import { BalanceConfigError } from '../options/errors.js';
import { LATENCY_BUCKETS } from '../pool/key-tallies.js';
import type { KeyPool } from '../pool/pool.js';
import { TRANSITION_REASONS } from '../pool/key-state.js';
import { shownStatus } from '../pool/pool-entry.js';

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * A metric whose samples are read from the pools' tallies when scraped.
 * prom-client's registry accepts any object with name, help, type and get().
 */
class CollectedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly read: () => Sample[],
  ) {}

  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.read() };
  }

  reset(): void {}
}

/**
 * prom-client's types accept only its own metric classes, but its registry reads no more than a metric's `name`,
 * `get()`, `reset()` and `aggregator`: the one place a collected metric is passed off as one of them.
 */
function register(registry: Registry, metric: CollectedMetric): void {
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

const STATES = ['healthy', 'cooling', 'unhealthy', 'invalid', 'exhausted', 'disabled'] as const;
const PROBE_RESULTS = ['ok', 'failed', 'refused'] as const;
/** Every reason a state change may carry: the key's own transitions, and quota for exhaustion. */
const CHANGE_REASONS = [...TRANSITION_REASONS, 'quota'] as const;

/** Why a value read from the shared store was dropped: bounded, so safe as a label. */
export const STORE_REJECT_REASONS = ['malformed', 'oversized', 'version', 'kind', 'shape', 'time', 'size'] as const;
export type StoreRejectReason = (typeof STORE_REJECT_REASONS)[number];

/**
 * The balancer's metrics. Created once per (registry, prefix) and held by one
 * open balancer at a time: two balancers with overlapping key labels under one
 * prefix would serve duplicated series that Prometheus rejects. The pool
 * gauges are read at scrape time, so no timer keeps them current.
 */
export class BalancerMetrics {
  readonly healthChecks: Counter<'key' | 'result'>;
  readonly noKeyAvailable: Counter<'reason'>;
  readonly retries: Counter<'reason'>;
  readonly modelFallbacks: Counter<'route' | 'from' | 'to'>;
  readonly stateChanges: Counter<'key' | 'to' | 'reason'>;
  readonly storeRejected: Counter<'reason'>;
  /** Whether an open balancer holds these metrics. */
  private held = false;
  private readonly pools = new Set<KeyPool>();
  /** The shared stores of the balancers attached (a MemoryStore says 'local' and adds no sample). */
  private readonly stores = new Set<() => 'ok' | 'degraded' | 'local'>();

  private constructor(registry: Registry, prefix: string) {
    const pools = this.pools;
    const registers = [registry];
    register(
      registry,
      new CollectedMetric(
        `${prefix}requests_total`,
        'Requests forwarded upstream, by key and upstream status code (error/timeout when none came).',
        'counter',
        () => {
          const samples: Sample[] = [];
          for (const pool of pools) {
            for (const entry of pool.entries) {
              for (const [code, value] of entry.tallies.byCode)
                samples.push({ labels: { key: entry.label, code }, value });
            }
          }
          return samples;
        },
      ),
    );
    const histogram = `${prefix}upstream_response_seconds`;
    register(
      registry,
      new CollectedMetric(
        histogram,
        'Time from sending a request upstream to its response headers (time to first byte).',
        'histogram',
        () => {
          const samples: Sample[] = [];
          for (const pool of pools) {
            for (const { label, tallies } of pool.entries) {
              let cumulative = 0;
              LATENCY_BUCKETS.forEach((le, slot) => {
                cumulative += tallies.buckets[slot];
                samples.push({ metricName: `${histogram}_bucket`, labels: { le, key: label }, value: cumulative });
              });
              samples.push({
                metricName: `${histogram}_bucket`,
                labels: { le: '+Inf', key: label },
                value: tallies.latencyCount,
              });
              samples.push({ metricName: `${histogram}_sum`, labels: { key: label }, value: tallies.latencySum });
              samples.push({ metricName: `${histogram}_count`, labels: { key: label }, value: tallies.latencyCount });
            }
          }
          return samples;
        },
      ),
    );
    this.healthChecks = new Counter({
      name: `${prefix}health_checks_total`,
      help: 'Active health probes by key and result (ok, failed, refused).',
      labelNames: ['key', 'result'],
      registers,
    });
    this.noKeyAvailable = new Counter({
      name: `${prefix}no_key_available_total`,
      help: 'Requests answered without an upstream call because no key could take them.',
      labelNames: ['reason'],
      registers,
    });
    // Known reasons start at 0, so rate() and alerts work before the first refusal.
    for (const reason of ['unavailable', 'cooling', 'exhausted', 'refused', 'empty'])
      this.noKeyAvailable.inc({ reason }, 0);
    this.retries = new Counter({
      name: `${prefix}retries_total`,
      help: 'Attempts moved to another key, by what failed (status code, reset, timeout, refused).',
      labelNames: ['reason'],
      registers,
    });
    // Labels are the operator's own route names and model ids (modelRoutes), never what a client sends.
    this.modelFallbacks = new Counter({
      name: `${prefix}model_fallbacks_total`,
      help: 'Requests of a model route moved from one model to a later one of the route, the first being used up.',
      labelNames: ['route', 'from', 'to'],
      registers,
    });
    this.stateChanges = new Counter({
      name: `${prefix}key_state_changes_total`,
      help: 'Key state changes by key, new state and reason.',
      labelNames: ['key', 'to', 'reason'],
      registers,
    });
    this.storeRejected = new Counter({
      name: `${prefix}store_rejected_total`,
      help: 'Values read from the shared store (Redis) that were dropped, never applied: by reason.',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: `${prefix}key_healthy`,
      help: '1 when the key can take a request now, else 0.',
      labelNames: ['key'],
      registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          const now = pool.now();
          for (const entry of pool.entries) this.set({ key: entry.label }, pool.isUsable(entry, now) ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: `${prefix}key_state`,
      help: "The key's state: 1 for the current one, 0 for the others.",
      labelNames: ['key', 'state'],
      registers,
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
    const stores = this.stores;
    new Gauge({
      name: `${prefix}store_up`,
      help: 'With a shared store (Redis): 1 while it is reachable, 0 while this replica serves on its own state.',
      registers,
      collect() {
        this.reset();
        const states = [...stores].map((status) => status()).filter((status) => status !== 'local');
        if (states.length > 0) this.set(states.every((status) => status === 'ok') ? 1 : 0);
      },
    });
    new Gauge({
      name: `${prefix}key_in_flight`,
      help: 'Requests under way on the key.',
      labelNames: ['key'],
      registers,
      collect() {
        this.reset();
        for (const pool of pools)
          for (const entry of pool.entries) this.set({ key: entry.label }, entry.state.inFlight);
      },
    });
    new Gauge({
      name: `${prefix}key_quota_remaining`,
      help: "Requests left in the key's (account's) daily allowance, as last reported by ModelScope.",
      labelNames: ['key'],
      registers,
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
    new Gauge({
      name: `${prefix}key_balance_available`,
      help: "The available balance of the key's account, as last read from quota.balanceUrl (only when set).",
      labelNames: ['key'],
      registers,
      collect() {
        this.reset();
        for (const pool of pools) {
          for (const entry of pool.entries) {
            const balance = entry.account.balance;
            if (balance) this.set({ key: entry.label }, balance.available);
          }
        }
      },
    });
  }

  private static readonly shared = new WeakMap<Registry, Map<string, BalancerMetrics>>();

  /**
   * The metrics of `registry` under `prefix`, created on first use, for one open balancer: a second one asking while
   * the first is open is refused (`release()` on close frees them).
   */
  static claim(registry: Registry, prefix: string): BalancerMetrics {
    let byPrefix = BalancerMetrics.shared.get(registry);
    if (!byPrefix) BalancerMetrics.shared.set(registry, (byPrefix = new Map()));
    let metrics = byPrefix.get(prefix);
    if (metrics?.held) {
      throw new BalanceConfigError(
        'ERR_MSB_METRICS_PREFIX_IN_USE',
        'metrics.prefix',
        `'${prefix}' is used by another open balancer on this registry, whose series would merge with these: give ` +
          'each balancer that shares a registry its own prefix, or close the other first.',
      );
    }
    if (!metrics) byPrefix.set(prefix, (metrics = new BalancerMetrics(registry, prefix)));
    metrics.held = true;
    return metrics;
  }

  /** Frees the metrics for another balancer (on close); its pool's series go with `detach`. */
  release(): void {
    this.held = false;
  }

  /** Drops the series of a key that left the pool (the gauges and tallies follow the pool by themselves). */
  forgetKey(label: string): void {
    for (const result of PROBE_RESULTS) this.healthChecks.remove({ key: label, result });
    for (const to of [...STATES, 'model_exhausted']) {
      for (const reason of CHANGE_REASONS) this.stateChanges.remove({ key: label, to, reason });
    }
  }

  attach(pool: KeyPool, store?: () => 'ok' | 'degraded' | 'local'): void {
    this.pools.add(pool);
    if (store) this.stores.add(store);
  }

  detach(pool: KeyPool, store?: () => 'ok' | 'degraded' | 'local'): void {
    this.pools.delete(pool);
    if (store) this.stores.delete(store);
  }
}
