// Replication to other replicas, as a listener: what changes here (a key's state, an account's quota, an
// operator's hold, a request sent, a task submitted) is handed to SharedState, which publishes it through the store.
// Changes that arrive from other replicas are applied by SharedState itself and announce nothing here.
import type { Emitter } from '../engine/events.js';
import type { EngineSignals } from '../engine/signals.js';
import type { SharedState } from './shared-state.js';
import type { StoreStatus } from './store.js';

export function replicate(signals: Emitter<EngineSignals>, shared: SharedState): void {
  signals.on('keyChanged', (entry) => shared.keyChanged(entry));
  signals.on('quotaChanged', (entry) => shared.quotaChanged(entry));
  signals.on('disabledChanged', (entry) => shared.holdChanged(entry));
  signals.on('sent', (entry) => shared.counted(entry));
  signals.on('taskSubmitted', ({ taskId, entry, ttlMs }) => shared.rememberTask(taskId, entry, ttlMs));
  // A removed key, once no request is left on it: its fingerprint and change times go, so key churn does not grow.
  signals.on('retired', (entry) => shared.forget(entry));
}

/** How often a shared store's reachability is read, to tell listeners when it changes. */
const STATUS_EVERY_MS = 1000;

/**
 * Calls `changed` when a shared store becomes unreachable or reachable again (read once a second, off the request
 * path; a store that shares nothing is never read). Returns the stop.
 */
export function watchStoreStatus(
  store: { status(): StoreStatus },
  changed: (status: 'ok' | 'degraded') => void,
): () => void {
  let last = store.status();
  if (last === 'local') return () => {};
  const timer = setInterval(() => {
    const now = store.status();
    if (now === last || now === 'local') return;
    last = now;
    changed(now);
  }, STATUS_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
