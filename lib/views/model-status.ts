// The models part of /status: each model's allowance left today across the
// pool, and each route's model now, as data (/status/data) and as the lines
// the page shows under the summary. Model ids come from the upstream's
// counters and route names from the options; both are escaped all the same.
import {
  modelAllowances,
  type ModelAllowance,
  type RouteStanding,
  routeStandings,
} from '../model-routes/model-allowance.js';
import type { ResolvedModelRoutes } from '../model-routes/model-routes.js';
import type { PoolEntry } from '../pool/pool-entry.js';
import { escapeHtml } from './status-page.js';
import { isoTime } from './iso-time.js';

export interface StatusModel extends Omit<ModelAllowance, 'back_at'> {
  back_at: string | null;
}

export interface StatusModels {
  /** Models with per-model figures from today, by name. */
  models: StatusModel[];
  /** The model routes, each with the model it serves from now. */
  routes: RouteStanding[];
}

export function statusModels(routes: ResolvedModelRoutes, entries: readonly PoolEntry[], now: number): StatusModels {
  return {
    models: modelAllowances(entries, now).map((model) => ({
      ...model,
      back_at: model.back_at === null ? null : isoTime(model.back_at),
    })),
    routes: routeStandings(routes, entries, now),
  };
}

const html = (value: unknown): string => escapeHtml(String(value));

function modelLine(model: StatusModel): string {
  const left =
    model.remaining === null
      ? 'unknown'
      : `${html(model.remaining)}${model.limit === null ? '' : ` of ${html(model.limit)}`}`;
  const out = model.used_up_everywhere
    ? ` <span class="badge state-exhausted">used up</span>`
    : model.used_up > 0
      ? ` <span class="muted">(used up on ${html(model.used_up)} of ${html(model.accounts)} accounts)</span>`
      : '';
  return `<li><code>${html(model.model)}</code>: ${left} left${out}</li>`;
}

function routeLine(route: RouteStanding): string {
  const serving = route.serving === null ? 'every model used up' : `<code>${html(route.serving)}</code>`;
  const fallback = route.on_fallback ? ' <span class="badge state-cooling">on fallback</span>' : '';
  return `<li><code>${html(route.name)}</code> → ${serving}${fallback}</li>`;
}

/** The summary's models and routes entries; nothing when there are neither figures nor routes. */
export function renderModels(view: StatusModels): string {
  const models = view.models.length
    ? `<div><dt>Models left today</dt><dd id="models"><ul>${view.models.map(modelLine).join('')}</ul></dd></div>`
    : '';
  const routes = view.routes.length
    ? `<div><dt>Model routes</dt><dd id="routes"><ul>${view.routes.map(routeLine).join('')}</ul></dd></div>`
    : '';
  return models + routes;
}
