// What an operator says about a named client: who it is (a name and a token) and what it may use. The same shape is
// taken by the `clients` option, the clients file, `addClient()` and POST /admin/clients.

/** The limits of a named client: each one left out is no limit. */
export interface ClientLimits {
  /**
   * Requests served per day, the day ending with ModelScope's allowance (`quota.resetTimeZone` / `quota.resetTime`).
   * Counted for the whole fleet with a shared store that counts (`RedisStore`). Defaults to no limit.
   */
  dailyRequests?: number;
  /** Requests per minute, as a token bucket (bursts up to the limit, one back every 60 s / limit). Defaults to none. */
  requestsPerMinute?: number;
  /** Requests under way at once; the one past it is refused at once. Defaults to no limit. */
  maxInFlight?: number;
  /**
   * The models the client may ask for, matched on the request's `model` as sent (a model route's alias when the
   * alias itself is listed). Defaults to every model.
   */
  models?: string[];
}

/** A named client of the pool: a person, a team or a program with its own token, limits and usage. */
export interface ClientSpec extends ClientLimits {
  /** Shown in /usage, /admin/clients, metrics, logs and events: 1–64 characters of `A-Z a-z 0-9 . _ -`. Required. */
  name: string;
  /**
   * The token the client sends as `Authorization: Bearer` or `x-api-key`: 16–512 visible ASCII characters, none of
   * the pool's keys, access tokens or the admin token. Kept only as a SHA-256 digest. Required.
   */
  token: string;
}

/** The limit fields, in the order they are listed in errors and answers. */
export const LIMIT_FIELDS = ['dailyRequests', 'requestsPerMinute', 'maxInFlight', 'models'] as const;

/** Every field of a ClientSpec. */
export const CLIENT_FIELDS = ['name', 'token', ...LIMIT_FIELDS] as const;
