// What a balancer tells its listeners (`balancer.on(event, listener)`): each
// request's start and end, each upstream attempt, each change of a key's
// state, and the shared store's health. Payloads carry labels, never keys or
// the pool's own objects: a listener is user code. A payload is built only
// when someone listens, so a balancer nobody listens to pays nothing per
// request. See docs/events.md.
import type { ExhaustionSource } from '../pool/account-quota.js';
import type { KeyStatus, TransitionReason } from '../pool/key-state.js';
import type { ShownStatus } from '../pool/pool-entry.js';
import type { StoreRejectReason } from '../observe/metrics.js';
import type { AttemptFailure } from '../upstream/upstream-attempt.js';

/** A proxied request arrived (after the access check). */
export interface RequestStartEvent {
  phase: 'start';
  /** The request id (`x-request-id`: the client's, or one made up). */
  id: string;
  method: string;
  /** The path relative to the mount point, without the query. */
  path: string;
}

/** Tokens an answer reported using (filled by usage accounting, when it reads them). */
export interface TokenUsage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

/** A proxied request ended: its answer was sent whole, broke off, or the client left. */
export interface RequestEndEvent {
  phase: 'end';
  id: string;
  method: string;
  path: string;
  /** The status sent (or about to be sent when the client left). */
  status: number;
  /** Upstream attempts made (keys tried). */
  attempts: number;
  /** The label of the last key tried; null when none was. */
  key: string | null;
  durationMs: number;
  /** The client closed the connection before the answer was complete. */
  clientClosed: boolean;
  /** The request's `model`, when the balancer read it (per-model quota). */
  model?: string;
  /** The named client that sent it, when clients are named. */
  client?: string;
  /** The tokens the answer reported, when they were read. */
  usage?: TokenUsage;
}

export type RequestEvent = RequestStartEvent | RequestEndEvent;

/**
 * What an attempt's answer said about its key: the answer table's verdict for an answer; for no answer, `failed`
 * (connection failed or reset), `slow` (no answer within `timeouts.firstByteMs`: the model's doing, not the key's) or
 * `aborted` (the client left).
 */
export type AttemptVerdict =
  | 'success'
  | 'neutral'
  | 'rate_limited'
  | 'exhausted'
  | 'model_exhausted'
  | 'failed'
  | 'refused'
  | 'slow'
  | 'aborted';

/** One upstream attempt, once its answer (headers) or failure is in and what happens next is decided. */
export interface AttemptEvent {
  requestId: string;
  /** The key's label. */
  key: string;
  /** 1 for the first attempt of the request. */
  attempt: number;
  /** The upstream's status, when it answered. */
  status?: number;
  /** How the attempt failed, when no answer came. */
  failure?: AttemptFailure;
  verdict: AttemptVerdict;
  /** From sending the attempt to its answer's headers (or its failure). */
  durationMs: number;
  /** `failover`: the next key is tried; `answer`: this one's answer is the client's; `client_gone`: the client left. */
  next: 'failover' | 'answer' | 'client_gone';
}

/** A key's own state changed (see "How keys are chosen" in the README). */
export interface KeyTransitionEvent {
  key: string;
  from: KeyStatus;
  to: KeyStatus;
  reason: TransitionReason;
  /** Our description of the error that caused it, if any (never the upstream's text). */
  lastError?: string;
}

/** A key's account (or one model on it) is out of today's allowance. */
export interface KeyExhaustedEvent {
  key: string;
  to: 'exhausted' | 'model_exhausted';
  reason: 'quota';
  source: ExhaustionSource;
  /** The model that ran out, for `model_exhausted`. */
  model?: string;
  /** The account's name when one was given (keys of one account share its allowance). */
  account?: string;
  /** When it ends at the latest (the reset), epoch ms. */
  until: number;
}

/** A call succeeded on an account held used up without counters: its allowance was not gone after all. */
export interface KeyAllowanceBackEvent {
  key: string;
  from: 'exhausted';
  to: ShownStatus;
  reason: 'allowance_back';
  source: Exclude<ExhaustionSource, 'counters'>;
  account?: string;
}

/** An operator disabled or enabled the key (`disableKey`, `enableKey`, the admin API). */
export interface KeyOperatorEvent {
  key: string;
  from: ShownStatus;
  to: ShownStatus;
  reason: 'operator';
}

export type KeyStateEvent = KeyTransitionEvent | KeyExhaustedEvent | KeyAllowanceBackEvent | KeyOperatorEvent;

/** The shared store: reachable again (`ok`) or not (`degraded`: serving on local state), or a value it dropped. */
export type StoreEvent = { status: 'ok' | 'degraded' } | { rejected: StoreRejectReason };

/** Every event a balancer emits, by name. */
export interface BalancerEvents {
  request: RequestEvent;
  attempt: AttemptEvent;
  keyState: KeyStateEvent;
  store: StoreEvent;
}

export type BalancerEventName = keyof BalancerEvents;

/** The names of every event, in the order docs/events.md describes them. */
export const BALANCER_EVENTS = [
  'request',
  'attempt',
  'keyState',
  'store',
] as const satisfies readonly BalancerEventName[];

/** A listener of one event. */
export type BalancerListener<E extends BalancerEventName> = (event: BalancerEvents[E]) => void;

/**
 * A small typed emitter. Listeners run in the order they were added; one that throws is reported (`onError`) and the
 * others still run: a listener's bug must never fail a request. Adding or removing copies the list, so emitting
 * never allocates.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, ReadonlyArray<(event: never) => void>>();

  constructor(private readonly onError: (error: unknown, name: keyof Events) => void = () => {}) {}

  on<E extends keyof Events>(name: E, listener: (event: Events[E]) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener as (event: never) => void]);
  }

  off<E extends keyof Events>(name: E, listener: (event: Events[E]) => void): void {
    const left = (this.listeners.get(name) ?? []).filter((added) => added !== listener);
    if (left.length > 0) this.listeners.set(name, left);
    else this.listeners.delete(name);
  }

  /** Whether anyone listens: check it before building a payload. */
  listening(name: keyof Events): boolean {
    return this.listeners.has(name);
  }

  emit<E extends keyof Events>(name: E, event: Events[E]): void {
    const listeners = this.listeners.get(name);
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        (listener as (event: Events[E]) => void)(event);
      } catch (error) {
        this.onError(error, name);
      }
    }
  }
}
