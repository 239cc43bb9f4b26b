// What the pool's changes do outside it: a log line and a metric for each
// transition, the shared store told (which sends it to other replicas), and a
// key that left the pool forgotten by the scrubber.
import { isoTime } from '../views/iso-time.js';
import type { BalancerMetrics } from './metrics.js';
import type { PoolEvents } from '../pool/pool.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import type { SharedState } from '../store/shared-state.js';
import type { ExhaustionSource } from '../pool/account-quota.js';

/** How an exhaustion was known, in the log line. */
const EXHAUSTION_WORDS: Record<ExhaustionSource, string> = {
  counters: 'its quota counters say 0',
  answer: 'ModelScope said so',
  inferred: 'inferred from rate limits in a row without quota counters',
  balance: 'its balance is zero',
};
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
    exhausted(entry, until, model, source = 'counters') {
      metrics().stateChanges.inc({ key: entry.label, to: model ? 'model_exhausted' : 'exhausted', reason: 'quota' });
      const every = config.quota.exhaustedTrialMs;
      const period = every % 60_000 === 0 ? `${every / 60_000} min` : `${every} ms`;
      const trial = source === 'counters' ? '' : `; one trial call every ${period}`;
      logger.warn(
        {
          key: entry.label,
          account: entry.ownAccount ? undefined : entry.accountName,
          model,
          source,
          until: isoTime(until),
        },
        model
          ? `key ${entry.label} has no quota left today for this model`
          : `key ${entry.label} has used up its daily quota (${EXHAUSTION_WORDS[source]})${trial}`,
      );
    },
    exhaustionEnded(entry, source) {
      logger.info(
        { key: entry.label, account: entry.ownAccount ? undefined : entry.accountName, source },
        `key ${entry.label} answered again: its allowance was not used up after all (or was topped up)`,
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
