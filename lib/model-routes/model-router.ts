// The engine's side of model routes: which requests follow a route (those
// whose `model` names one), and the walk each of them takes. A balancer with
// no routes reads no request's model here.
import type { ResolvedModelRoutes } from './model-routes.js';
import { type RoutePool, RouteWalk } from './route-walk.js';

/** The request a route is looked up for: its model, read when first asked. */
export interface RoutedRequest {
  modelName(): string | undefined;
}

export class ModelRouter {
  constructor(
    readonly routes: ResolvedModelRoutes,
    private readonly pool: RoutePool,
    /** A request of route `route` left model `from` for `to`. */
    private readonly moved: (route: string, from: string, to: string) => void,
  ) {}

  /** The route names, for the models list. */
  get names(): string[] {
    return [...this.routes.keys()];
  }

  /** The walk for a request whose model names a route; undefined for any other (or when there are no routes). */
  walk(request: RoutedRequest): RouteWalk | undefined {
    if (this.routes.size === 0) return undefined;
    const name = request.modelName();
    const models = name === undefined ? undefined : this.routes.get(name);
    if (name === undefined || models === undefined) return undefined;
    return new RouteWalk(name, models, this.pool, (from, to) => this.moved(name, from, to));
  }
}
