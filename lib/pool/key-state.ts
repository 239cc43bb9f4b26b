// The life of one key, as a small state machine with no I/O. Everything a
// replica would need to share about a key lives here, so this object can later
// move behind a shared store without the rest of the balancer changing.

export type KeyStatus = 'healthy' | 'cooling' | 'unhealthy' | 'invalid';

/** Why a key changes state; bounded, so it is safe as a metric label. */
export const TRANSITION_REASONS = [
  'rate_limited',
  'throttled',
  'cooldown_over',
  'failures',
  'probe_failed',
  'probe_passed',
  'invalid_token',
  'success',
] as const;

export type TransitionReason = (typeof TRANSITION_REASONS)[number];

export interface Transition {
  from: KeyStatus;
  to: KeyStatus;
  reason: TransitionReason;
}

export interface LastError {
  status: number | 'error' | 'timeout';
  reason: string;
  at: number;
}

export interface StateRules {
  failureThreshold: number;
  cooldownBaseMs: number;
  cooldownMaxMs: number;
  invalidKeyRetryMs: number;
}

export class KeyState {
  status: KeyStatus = 'healthy';
  /** cooling: when it ends; unhealthy/invalid: when a trial request is allowed. */
  until = 0;
  consecutiveFailures = 0;
  /** Consecutive 429s, for the doubling of cooldowns. */
  cooldownStreak = 0;
  inFlight = 0;
  requests = 0;
  lastUsed: number | null = null;
  /** When a request on this key last succeeded: recent traffic makes an active probe redundant. */
  lastSuccessAt = -Infinity;
  lastError: LastError | null = null;
  /** An unhealthy or invalid key gets one trial request at a time. */
  trialInFlight = false;
  /** Disabled by an operator (`disableKey`): no traffic and no probes until enabled; nothing else changes it. */
  disabled = false;

  /**
   * The wire name of `disabled` (a `hold` update in the store's schema), read and written by store/shared-state.ts
   * only: it goes when that file says `disabled`.
   */
  get held(): boolean {
    return this.disabled;
  }

  set held(disabled: boolean) {
    this.disabled = disabled;
  }

  constructor(private readonly rules: StateRules) {}

  /** Whether a request may use this key at `now`; moves a finished cooldown back to healthy. */
  refresh(now: number): Transition | null {
    if (this.status === 'cooling' && now >= this.until) return this.move('healthy', 'cooldown_over');
    return null;
  }

  canTake(now: number): boolean {
    if (this.disabled) return false;
    if (this.status === 'healthy') return true;
    if (this.status === 'cooling') return now >= this.until;
    return now >= this.until && !this.trialInFlight;
  }

  /** Marks the start of a request on this key; returns whether it is the trial of an unhealthy or invalid key. */
  begin(now: number): boolean {
    this.inFlight++;
    this.requests++;
    this.lastUsed = now;
    const trial = this.status === 'unhealthy' || this.status === 'invalid';
    if (trial) this.trialInFlight = true;
    return trial;
  }

  /** Marks the end of a request; only the trial itself frees the next trial. */
  end(trial: boolean): void {
    this.inFlight--;
    if (trial) this.trialInFlight = false;
  }

  succeeded(now: number): Transition | null {
    this.lastSuccessAt = now;
    this.consecutiveFailures = 0;
    this.cooldownStreak = 0;
    return this.status === 'healthy' ? null : this.move('healthy', 'success');
  }

  /**
   * A 429. `retryAfterMs` from the upstream wins; otherwise the cooldown
   * doubles with each repeat, unless the whole pool is being throttled, when
   * escalating one key's cooldown would only punish it for the upstream's mood.
   */
  rateLimited(
    now: number,
    retryAfterMs: number | undefined,
    poolThrottled: boolean,
    error: LastError,
  ): Transition | null {
    this.lastError = error;
    let ms: number;
    // The upstream's figure is trusted only up to our own longest cooldown: `Retry-After: 1e13` must not break a Date.
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs))
      ms = Math.min(Math.max(0, retryAfterMs), this.rules.cooldownMaxMs);
    else if (poolThrottled) ms = this.rules.cooldownBaseMs;
    else ms = Math.min(this.rules.cooldownBaseMs * 2 ** Math.min(this.cooldownStreak, 30), this.rules.cooldownMaxMs);
    if (!poolThrottled) this.cooldownStreak++;
    // A rate limit also shows the token was accepted: an invalid or unhealthy key that gets one is merely cooling.
    const until = Math.max(this.status === 'cooling' ? this.until : 0, now + ms);
    const change =
      this.status === 'cooling' ? null : this.move('cooling', poolThrottled ? 'throttled' : 'rate_limited');
    this.until = until;
    return change;
  }

  /** A 5xx, timeout or connection failure on a request. */
  failed(now: number, error: LastError): Transition | null {
    this.lastError = error;
    this.consecutiveFailures++;
    if (this.status === 'invalid') {
      // An inconclusive trial of a refused token: wait the full period again before the next.
      this.until = now + this.rules.invalidKeyRetryMs;
      return null;
    }
    const trialFailed = this.status === 'unhealthy';
    if (trialFailed || this.consecutiveFailures >= this.rules.failureThreshold) {
      this.until = now + this.unhealthyRetryMs();
      return trialFailed ? null : this.move('unhealthy', 'failures');
    }
    return null;
  }

  /** A 401 or 403: the token itself is refused. */
  refused(now: number, error: LastError | null): Transition | null {
    this.lastError = error;
    this.until = now + this.rules.invalidKeyRetryMs;
    return this.status === 'invalid' ? null : this.move('invalid', 'invalid_token');
  }

  /**
   * An active probe's answer. A probe shows reachability, not validity
   * (ModelScope may list models without a valid token), so a passing probe
   * only heals an unhealthy key.
   */
  probed(now: number, outcome: 'ok' | 'failed' | 'refused', error?: LastError): Transition | null {
    if (outcome === 'ok') {
      if (this.status !== 'unhealthy') return null;
      this.consecutiveFailures = 0;
      return this.move('healthy', 'probe_passed');
    }
    if (outcome === 'refused') return this.refused(now, error ?? null);
    // An invalid key keeps its own trial schedule; unreachability says nothing new about its token.
    if (this.status === 'invalid') return null;
    this.lastError = error ?? null;
    this.until = now + this.unhealthyRetryMs();
    return this.status === 'unhealthy' ? null : this.move('unhealthy', 'probe_failed');
  }

  /** An unhealthy key is tried again after the longest cooldown; probes may heal it sooner. */
  private unhealthyRetryMs(): number {
    return this.rules.cooldownMaxMs;
  }

  private move(to: KeyStatus, reason: TransitionReason): Transition {
    const from = this.status;
    this.status = to;
    if (to === 'healthy') this.until = 0;
    return { from, to, reason };
  }
}
