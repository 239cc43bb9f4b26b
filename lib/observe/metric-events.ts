// The metrics' counters, fed by the balancer's events: state changes, values the store dropped, failovers, requests
// answered without a key, health probes, and a removed key's series dropped. Per-key request counts and latencies
// are not events: they are plain tallies on each key, read when Prometheus scrapes (metrics.ts).
import type { BalancerEvents, Emitter } from '../engine/events.js';
import type { EngineSignals } from '../engine/signals.js';
import type { BalancerMetrics } from './metrics.js';

export function countEvents(
  metrics: BalancerMetrics,
  events: Emitter<BalancerEvents>,
  signals: Emitter<EngineSignals>,
): void {
  events.on('keyState', (event) => {
    // An operator's hold, and an allowance back, are not transitions the metric counts.
    if (event.reason === 'operator' || event.reason === 'allowance_back') return;
    metrics.stateChanges.inc({ key: event.key, to: event.to, reason: event.reason });
  });
  events.on('store', (event) => {
    if ('rejected' in event) metrics.storeRejected.inc({ reason: event.rejected });
  });
  signals.on('failover', (reason) => metrics.retries.inc({ reason }));
  signals.on('noKey', (reason) => metrics.noKeyAvailable.inc({ reason }));
  signals.on('probed', ({ label, result }) => metrics.healthChecks.inc({ key: label, result }));
  signals.on('removed', (label) => metrics.forgetKey(label));
}
