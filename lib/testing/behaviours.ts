/**
 * How the imitation answers a request made with a given key. Tests (and the
 * demo) pick one per key, or a function that picks per request.
 */
export type Behaviour =
  /** A normal answer: JSON, or SSE when the body asks `"stream": true`. */
  | 'ok'
  /** 401 with ModelScope's `{"error":{…}}` body, as for a bad token. */
  | 'unauthorized'
  /** 429 `Request limit exceeded.` with no Retry-After: a short rate limit. */
  | 'rate-limited'
  /** 429 with the remaining-requests header at 0 (plain when counters are off): the daily allowance is used up. */
  | 'quota-exhausted'
  /** 403 `QuotaLimitExceed`, "magicube balance exhausted": the points balance is used up. */
  | 'balance-exhausted'
  /** 500 with a JSON error. */
  | 'server-error'
  /** 503 with a JSON error. */
  | 'unavailable'
  /** 400 whose error message echoes the token back, as some APIs do. */
  | 'echo-token-error'
  /** The connection is reset before any answer. */
  | 'reset'
  /** Never answers (until the imitation closes). */
  | 'hang'
  /** A stream that sends two chunks (on /v1/messages: message_start and two deltas), then resets its connection. */
  | 'stream-break'
  /** A stream that sends two chunks (on /v1/messages: message_start and two deltas), then goes silent. */
  | 'stream-stall'
  /** A JSON answer that promises 1000 bytes, sends 20 and resets its connection. */
  | 'body-break'
  /** The same with status 500: an error body that breaks off. */
  | 'error-body-break'
  /** 429 with `Retry-After: <seconds>`. */
  | { retryAfterSeconds: number }
  /** Any status with a JSON body of your choice. */
  | { status: number; body?: unknown; headers?: Record<string, string> };

/** A behaviour, or a function deciding per request (e.g. at random). */
export type BehaviourRule = Behaviour | ((request: { path: string; body: Buffer }) => Behaviour);

/** How /v1/models answers a probe with the key. */
export type ProbeBehaviour = 'ok' | 'fail' | 'unauthorized' | 'hang';

/** Daily figures the imitation reports (unless `counters: false`) and enforces for a key. */
export interface FakeQuota {
  limit: number;
  remaining: number;
  /** Per-model figures, by model name. Defaults to none (no model is counted on its own). */
  models?: Record<string, { limit: number; remaining: number }>;
}

/**
 * One model's daily counter for a key (`fake.modelQuota(key, model, counter)`): reported as
 * `modelscope-ratelimit-model-requests-*` and enforced (429 with the model counter at 0 once it runs out).
 */
export interface FakeCounter {
  limit: number;
  /** Calls left today. Defaults to `limit`. */
  remaining?: number;
}

/**
 * Points metering, as ModelScope reportedly bills its free tier (about 250 points a day per account, one or two a
 * call): every call spends its model's cost; once the points are gone, calls are refused until `newDay()`.
 */
export interface FakePoints {
  /** Points each day. */
  daily: number;
  /** Points left now. Defaults to `daily`. */
  left?: number;
  /** Points per call by model name; other models cost `defaultCost`. Defaults to none. */
  costs?: Record<string, number>;
  /** Points per call of a model not in `costs`. Defaults to 1. */
  defaultCost?: number;
  /**
   * How a call is refused once the points are gone: `'balance-403'` (403 `QuotaLimitExceed`, "magicube balance
   * exhausted") or `'plain-429'` (429 "Request limit exceeded.", no counters). Defaults to `'balance-403'`.
   */
  whenEmpty?: 'balance-403' | 'plain-429';
}

/** What the imitation's balance endpoint answers for a key. */
export interface FakeBalance {
  total: number;
  available: number;
  frozen?: number;
}
