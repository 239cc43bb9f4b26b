// The log, as a listener of the balancer's events: a line per proxied request
// (at info, when the logger writes info), a line per key state change (warn,
// info when a key is back), and a warning when the upstream throttles this
// machine. Lines name keys by label only.
import type { BalancerEvents, Emitter, KeyStateEvent, RequestEndEvent } from '../engine/events.js';
import type { EngineSignals } from '../engine/signals.js';
import type { ExhaustionSource } from '../pool/account-quota.js';
import { isoTime } from '../views/iso-time.js';
import { hasLevel, type Logger, silentLogger, writesLevel } from './logger.js';

/** How an exhaustion was known, in the log line. */
const EXHAUSTION_WORDS: Record<ExhaustionSource, string> = {
  counters: 'its quota counters say 0',
  answer: 'ModelScope said so',
  inferred: 'inferred from rate limits in a row without quota counters',
  balance: 'its balance is zero',
};

export interface LoggingOptions {
  /** One trial call per this period on an account used up without counters (named in the exhaustion's line). */
  exhaustedTrialMs: number;
  /** Scrubs text that came from a client (a request id may hold anything). */
  scrub(text: string): string;
}

function period(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms} ms`;
}

function logKeyState(logger: Logger, event: KeyStateEvent, options: LoggingOptions): void {
  const { key } = event;
  switch (event.reason) {
    case 'quota': {
      const trial = event.source === 'counters' ? '' : `; one trial call every ${period(options.exhaustedTrialMs)}`;
      logger.warn(
        { key, account: event.account, model: event.model, source: event.source, until: isoTime(event.until) },
        event.model
          ? `key ${key} has no quota left today for this model`
          : `key ${key} has used up its daily quota (${EXHAUSTION_WORDS[event.source]})${trial}`,
      );
      return;
    }
    case 'allowance_back':
      logger.info(
        { key, account: event.account, source: event.source },
        `key ${key} answered again: its allowance was not used up after all (or was topped up)`,
      );
      return;
    case 'operator': {
      const disabled = event.to === 'disabled';
      logger.info(
        { key, disabled },
        disabled ? `key ${key} disabled by the operator` : `key ${key} enabled by the operator`,
      );
      return;
    }
    default: {
      const detail = { key, from: event.from, to: event.to, reason: event.reason, last_error: event.lastError };
      if (event.to === 'healthy') logger.info(detail, `key ${key} is healthy again`);
      else logger.warn(detail, `key ${key} is ${event.to} (${event.reason.replace(/_/g, ' ')})`);
    }
  }
}

function logRequest(logger: Logger, event: RequestEndEvent, options: LoggingOptions): void {
  if (!writesLevel(logger, 'info')) return;
  logger.info(
    {
      method: event.method,
      path: event.path,
      status: event.clientClosed ? 499 : event.status,
      key: event.key,
      ...(event.client === undefined ? {} : { client: event.client }),
      attempts: event.attempts,
      request_id: options.scrub(event.id),
      ms: Math.round(event.durationMs * 10) / 10,
      ...(event.model === undefined ? {} : { model: options.scrub(event.model) }),
      ...(event.route === undefined ? {} : { route: event.route }),
    },
    event.clientClosed ? 'client closed the request' : 'proxied',
  );
}

/** Writes the balancer's log lines from its events; a silent logger listens to nothing. */
export function logEvents(
  logger: Logger,
  events: Emitter<BalancerEvents>,
  signals: Emitter<EngineSignals>,
  options: LoggingOptions,
): void {
  if (logger === silentLogger) return;
  events.on('keyState', (event) => logKeyState(logger, event, options));
  if (hasLevel(logger, 'info')) {
    events.on('request', (event) => {
      if (event.phase === 'end') logRequest(logger, event, options);
    });
  }
  signals.on('throttled', ({ limited, poolSize }) =>
    logger.warn(
      { keys_limited: limited, total_keys: poolSize },
      'most keys were rate limited within seconds: ModelScope is throttling this machine, not the keys; cooldowns ' +
        'are not escalated',
    ),
  );
}
