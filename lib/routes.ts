import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyPool } from './pool.js';
import type { ResolvedConfig } from './resolve-options.js';
import { createHealthHandler, createStatsHandler } from './stats.js';

/** One of the balancer's own GET routes; `admin` ones need the admin token when one is set. */
export interface OwnRoute {
  admin: boolean;
  serve(req: IncomingMessage, res: ServerResponse): void | Promise<void>;
}

/** The route key of a URL: its path, lower-cased, without a trailing slash (as Express matches by default). */
export function routePath(url: string): string {
  const queryAt = url.indexOf('?');
  let path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path.toLowerCase();
}

export function ownRoutes(config: ResolvedConfig, pool: KeyPool): Map<string, OwnRoute> {
  const routes = new Map<string, OwnRoute>([
    ['/health', { admin: false, serve: createHealthHandler(pool) }],
    ['/stats', { admin: true, serve: createStatsHandler(pool) }],
  ]);
  if (config.metrics) {
    routes.set(routePath(config.metrics.path), {
      admin: true,
      async serve(_req, res) {
        const text = await config.registry.metrics();
        res.writeHead(200, { 'content-type': config.registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
        res.end(text);
      },
    });
  }
  return routes;
}
