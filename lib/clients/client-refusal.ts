// The answers a client's limits give, before any upstream call: what happened, and when to try again.

/** The codes of a client's refusals (each in the errors table with its status). */
export type ClientRefusalCode =
  | 'client_daily_limit'
  | 'client_rate_limited'
  | 'client_in_flight_limit'
  | 'model_not_allowed';

export interface ClientRefusal {
  status: 403 | 429;
  code: ClientRefusalCode;
  message: string;
  headers?: Record<string, string>;
}

/** Models named in a refusal at most: the message stays short for a long allowlist. */
const MODELS_SHOWN = 10;

export function modelNotAllowed(
  client: string,
  model: string | undefined,
  allowed: ReadonlySet<string>,
): ClientRefusal {
  const list = [...allowed];
  const shown =
    list.slice(0, MODELS_SHOWN).join(', ') +
    (list.length > MODELS_SHOWN ? ` and ${list.length - MODELS_SHOWN} more` : '');
  const asked =
    model === undefined
      ? 'The request names no model (a JSON body with `model`)'
      : `Model ${JSON.stringify(model.slice(0, 256))} is not one of the models`;
  return {
    status: 403,
    code: 'model_not_allowed',
    message: `${asked}; client '${client}' may use: ${shown}. Ask the operator of this balancer for another model.`,
  };
}

export function inFlightLimit(client: string, limit: number): ClientRefusal {
  return {
    status: 429,
    code: 'client_in_flight_limit',
    message:
      `Client '${client}' has ${limit} requests under way (maxInFlight ${limit}): ` +
      'send the next one when one ends.',
    headers: { 'retry-after': '1' },
  };
}

export function rateLimited(client: string, perMinute: number, waitMs: number): ClientRefusal {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    status: 429,
    code: 'client_rate_limited',
    message: `Client '${client}' may send ${perMinute} requests a minute (requestsPerMinute): retry in ${seconds} s.`,
    headers: { 'retry-after': String(seconds) },
  };
}

export function dailyLimit(client: string, limit: number, resetsAt: number, now: number): ClientRefusal {
  return {
    status: 429,
    code: 'client_daily_limit',
    message:
      `Client '${client}' has used its ${limit} requests of today (dailyRequests); the day starts again at ` +
      `${new Date(resetsAt).toISOString()}.`,
    // The SDKs would retry a 429 within seconds; nothing changes before the reset.
    headers: { 'retry-after': String(Math.max(1, Math.ceil((resetsAt - now) / 1000))), 'x-should-retry': 'false' },
  };
}
