// What the pool's changes do outside it: a log line and a metric for each
// transition, the shared store told (which sends it to other replicas), and a
// key that left the pool forgotten by the scrubber.
import type { BalancerMetrics } from './metrics.js';
import type { PoolEvents } from '../pool/pool.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import type { SharedState } from '../store/shared-state.js';
import type { KeyScrubber } from '../upstream/scrub.js';

export function poolEvents(
  config: ResolvedConfig,
  metrics: () => BalancerMetrics,
  shared: () => SharedState,
  scrubber: () => KeyScrubber,
): PoolEvents {
  const { logger } = config;
  return {
    transition(entry, change) {
      metrics().stateChanges.inc({ key: entry.label, to: change.to, reason: change.reason });
      const detail = {
        key: entry.label,
        from: change.from,
        to: change.to,
        reason: change.reason,
        last_error: entry.state.lastError?.reason,
      };
      if (change.to === 'healthy') logger.info(detail, `key ${entry.label} is healthy again`);
      else logger.warn(detail, `key ${entry.label} is ${change.to} (${change.reason.replace(/_/g, ' ')})`);
    },
    exhausted(entry, until, model) {
      metrics().stateChanges.inc({ key: entry.label, to: model ? 'model_exhausted' : 'exhausted', reason: 'quota' });
      logger.warn(
        {
          key: entry.label,
          account: entry.ownAccount ? undefined : entry.accountName,
          model,
          until: new Date(until).toISOString(),
        },
        model
          ? `key ${entry.label} has no quota left today for this model`
          : `key ${entry.label} has used up its daily quota`,
      );
    },
    stateChanged: (entry) => shared().keyChanged(entry),
    quotaChanged: (entry) => shared().quotaChanged(entry),
    // Only once no request is left on it: an answer still streaming on a removed key is still scrubbed.
    retired: (entry) => scrubber().remove(entry.key),
    throttled(limited, size) {
      logger.warn(
        { keys_limited: limited, total_keys: size },
        'most keys were rate limited within seconds: ModelScope is throttling this machine, not the keys; cooldowns ' +
          'are not escalated',
      );
    },
  };
}
