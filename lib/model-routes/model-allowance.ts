// What /status shows of models: each model's allowance left today across the
// pool's accounts (as ModelScope's per-model counters last said), and for each
// route the model it sends requests to now, so an operator sees a route on its
// fallback before the users ask why answers changed.
import type { AccountQuota } from '../pool/account-quota.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import type { ResolvedModelRoutes } from './model-routes.js';

/** One model's day across the pool's accounts, from the counters seen since the reset. */
export interface ModelAllowance {
  model: string;
  /** Calls of this model left today, summed over the accounts that reported it (null when none said). */
  remaining: number | null;
  limit: number | null;
  /** Accounts that reported figures for the model today. */
  accounts: number;
  /** Of those, the accounts with it used up (counter at 0). */
  used_up: number;
  /** Every account of the pool has it used up: no call is spent on it until `back_at`. */
  used_up_everywhere: boolean;
  /** When it comes back on the first account that has it used up (the reset); null when none has. */
  back_at: number | null;
}

/** A route as it stands: the model its requests go to now. */
export interface RouteStanding {
  name: string;
  models: readonly string[];
  /** The first model of the route not used up on every key, or null when all are. */
  serving: string | null;
  /** Whether `serving` is not the route's first model (including when none is left). */
  on_fallback: boolean;
}

function distinctAccounts(entries: readonly PoolEntry[]): AccountQuota[] {
  return [...new Set(entries.map((entry) => entry.account))];
}

/** Each model with figures from today, by name. */
export function modelAllowances(entries: readonly PoolEntry[], now: number): ModelAllowance[] {
  const accounts = distinctAccounts(entries);
  const byModel = new Map<string, ModelAllowance>();
  for (const account of accounts) {
    for (const [model, figures] of account.models) {
      if (now >= figures.staleAt) continue;
      let shown = byModel.get(model);
      if (!shown) {
        shown = {
          model,
          remaining: null,
          limit: null,
          accounts: 0,
          used_up: 0,
          used_up_everywhere: false,
          back_at: null,
        };
        byModel.set(model, shown);
      }
      shown.accounts++;
      if (figures.remaining !== null) shown.remaining = (shown.remaining ?? 0) + figures.remaining;
      if (figures.limit !== null) shown.limit = (shown.limit ?? 0) + figures.limit;
      if (figures.remaining === 0) {
        shown.used_up++;
        shown.back_at = Math.min(shown.back_at ?? Infinity, figures.staleAt);
      }
    }
  }
  for (const shown of byModel.values())
    shown.used_up_everywhere = accounts.length > 0 && shown.used_up === accounts.length;
  return [...byModel.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

/** Whether some key's account has allowance left for `model` today, as far as the counters said. */
function hasAllowance(entries: readonly PoolEntry[], model: string, now: number): boolean {
  return entries.some(
    ({ account }) => account.exhaustedUntil(now) === 0 && account.modelExhaustedUntil(model, now) === 0,
  );
}

/** Each route, in the order configured, with the model it serves from now. */
export function routeStandings(
  routes: ResolvedModelRoutes,
  entries: readonly PoolEntry[],
  now: number,
): RouteStanding[] {
  return [...routes].map(([name, models]) => {
    const serving = models.find((model) => hasAllowance(entries, model, now)) ?? null;
    return { name, models, serving, on_fallback: serving !== models[0] };
  });
}
