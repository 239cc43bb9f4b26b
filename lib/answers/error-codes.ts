// The codes of the answers the balancer writes itself, and the HTTP status each goes with. How an answer is
// written (OpenAI's error shape, or another client's) is the dialect's business (dialect.ts).

/** Error codes the balancer itself answers with (never the upstream's), in `{"error":{"code"}}`. */
export const BALANCER_ERROR_CODES = [
  'no_key_available',
  'all_keys_cooling',
  'daily_quota_exhausted',
  'upstream_unreachable',
  'upstream_timeout',
  'request_too_large',
  'bad_request',
  'invalid_access_token',
  'invalid_admin_token',
  'bad_path',
  'not_found',
  'stream_interrupted',
  'balancer_closed',
  'internal_error',
  'upstream_answer_too_large',
  'method_not_allowed',
  'server_busy',
  'pool_keys_refused',
  'rate_limited',
  'upstream_error',
  'upstream_rejected',
  'admin_disabled',
  'key_exists',
  'key_not_found',
  'origin_not_allowed',
  'no_keys',
  'client_daily_limit',
  'client_rate_limited',
  'client_in_flight_limit',
  'model_not_allowed',
  'client_exists',
  'client_not_found',
] as const;

export type BalancerErrorCode = (typeof BALANCER_ERROR_CODES)[number];

/**
 * The HTTP status each code is answered with (`'4xx'`, `'5xx'`: the upstream's own; `'any'`: the status it replaces).
 * The README's errors table is checked against it.
 */
export const ERROR_STATUSES: Readonly<Record<BalancerErrorCode, number | '4xx' | '5xx' | 'any'>> = {
  no_key_available: 503,
  all_keys_cooling: 429,
  daily_quota_exhausted: 429,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  request_too_large: 413,
  bad_request: 400,
  invalid_access_token: 401,
  invalid_admin_token: 401,
  bad_path: 400,
  not_found: 404,
  stream_interrupted: 502,
  balancer_closed: 503,
  internal_error: 500,
  upstream_answer_too_large: 'any',
  method_not_allowed: 405,
  server_busy: 503,
  pool_keys_refused: 503,
  rate_limited: 429,
  upstream_error: '5xx',
  upstream_rejected: '4xx',
  admin_disabled: 403,
  key_exists: 409,
  key_not_found: 404,
  origin_not_allowed: 403,
  no_keys: 503,
  client_daily_limit: 429,
  client_rate_limited: 429,
  client_in_flight_limit: 429,
  model_not_allowed: 403,
  client_exists: 409,
  client_not_found: 404,
};
