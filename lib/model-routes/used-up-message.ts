// What a client hears when the model it asked for is used up on every key
// while the accounts still have allowance: a 429 `daily_quota_exhausted` that
// names the model (or the route's models), so the client knows that another
// model would work now, and when this one comes back. No upstream call is
// spent on it: the pool knows from the quota counters.
import { isoTime } from '../views/iso-time.js';
import type { RoutePool } from './route-walk.js';

/** Longest model name quoted in a message: the name is the client's, and a message is no place for a novel. */
const QUOTED_CHARS = 200;

function quoted(model: string): string {
  return JSON.stringify(model.length > QUOTED_CHARS ? `${model.slice(0, QUOTED_CHARS)}…` : model);
}

/**
 * The message for `models` used up on every key until `retryAt`, or undefined when the accounts themselves are
 * used up (every model is: the usual "daily quota of every API key" answer says so). `route` is the name the client
 * asked for when it is a route.
 */
export function modelsUsedUpMessage(
  pool: Pick<RoutePool, 'whyNone'>,
  models: readonly string[],
  retryAt: number,
  route?: string,
): string | undefined {
  if (models.length === 0 || pool.whyNone().kind === 'exhausted') return undefined;
  const at = isoTime(retryAt);
  if (route === undefined || (models.length === 1 && models[0] === route)) {
    return (
      `The daily allowance of model ${quoted(models[0])} is used up on every API key; it comes back at ${at}. ` +
      'Other models still work.'
    );
  }
  return (
    `The daily allowance of every model of route ${quoted(route)} (${models.map(quoted).join(', ')}) is used up ` +
    `on every API key; the first comes back at ${at}. Other models still work.`
  );
}
