// The pool's changes, told to the engine's listeners: a key's transitions and its account's exhaustion as public
// `keyState` events (by label), what replication and the scrubber need as internal signals.
import type { PoolEvents } from '../pool/pool.js';
import { shownStatus, type PoolEntry } from '../pool/pool-entry.js';
import type { BalancerEvents, Emitter } from './events.js';
import type { EngineSignals } from './signals.js';

/** The account's name when one was given (a key's own account has none worth showing). */
function accountOf(entry: PoolEntry): string | undefined {
  return entry.ownAccount ? undefined : entry.accountName;
}

export function poolSignals(
  events: Emitter<BalancerEvents>,
  signals: Emitter<EngineSignals>,
  now: () => number,
): PoolEvents {
  return {
    transition(entry, change) {
      if (!events.listening('keyState')) return;
      const lastError = entry.state.lastError?.reason;
      events.emit('keyState', { key: entry.label, ...change, ...(lastError === undefined ? {} : { lastError }) });
    },
    exhausted(entry, until, model, source = 'counters') {
      if (!events.listening('keyState')) return;
      events.emit('keyState', {
        key: entry.label,
        to: model ? 'model_exhausted' : 'exhausted',
        reason: 'quota',
        source,
        until,
        ...(model ? { model } : {}),
        ...(accountOf(entry) ? { account: accountOf(entry) } : {}),
      });
    },
    exhaustionEnded(entry, source) {
      if (!events.listening('keyState')) return;
      const to = shownStatus(entry, now());
      events.emit('keyState', {
        key: entry.label,
        from: 'exhausted',
        to,
        reason: 'allowance_back',
        source,
        ...(accountOf(entry) ? { account: accountOf(entry) } : {}),
      });
    },
    throttled: (limited, poolSize) => signals.emit('throttled', { limited, poolSize }),
    stateChanged: (entry) => signals.emit('keyChanged', entry),
    quotaChanged: (entry) => signals.emit('quotaChanged', entry),
    retired: (entry) => signals.emit('retired', entry),
  };
}
