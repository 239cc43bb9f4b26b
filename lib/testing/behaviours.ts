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
  /** 429 with the remaining-requests header at 0: the daily allowance is used up. */
  | 'quota-exhausted'
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
  /** A stream that sends two chunks and then resets its connection. */
  | 'stream-break'
  /** A stream that sends two chunks and then goes silent. */
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

/** Daily figures the imitation reports and enforces for a key. */
export interface FakeQuota {
  limit: number;
  remaining: number;
  /** Per-model figures, by model name. */
  models?: Record<string, { limit: number; remaining: number }>;
}
