// The Express adapter: the balancer as an Express Router. Its own routes
// (/health, /stats, the metrics path, /status, /admin), each switchable, then
// the engine for everything else. Nothing here knows how a request is proxied.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { sendError } from '../answers/send.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../observe/logger.js';
import { requireAdminForBrowser, requireAdminToken } from './admin-guards.js';
import { adminRouter } from './admin-routes.js';
import { clientsAdminRouter, usageHandler } from './client-routes.js';
import { corsFor, refuseOptions, refuseOtherOrigins } from './cors.js';
import { healthHandler, metricsHandler, statsHandler } from './stats-routes.js';
import { statusRouter } from './status-routes.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** On the balancer's own answers: the replica that gave them (`replicaId`). */
export const REPLICA_HEADER = 'x-modelscope-balance-replica';

/** A route's failure: logged by its message (our own text, never upstream data), answered with a JSON 500. */
function answerFailure(logger: Logger, res: ServerResponse, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  logger.error({ err: message.slice(0, 200) }, 'a balancer route failed');
  sendError(res, 500, 'internal_error', 'The balancer failed while handling this request.');
}

/** A handler whose synchronous throw or rejection becomes a JSON 500, never an exit or a hang. */
function guarded(handler: Handler, logger: Logger) {
  return function guardedRoute(req: Request, res: Response): void {
    const fail = (error: unknown): void => answerFailure(logger, res, error);
    try {
      const done = handler(req, res);
      if (done) done.catch(fail);
    } catch (error) {
      fail(error);
    }
  };
}

/**
 * What reaches one of our own paths and no route of it (a route switched off, an unknown sub-path, a method the
 * route does not take) is answered here: our paths are never forwarded upstream with a pool key.
 */
function ownPath(path: string, on: boolean) {
  return function refuseOwnPath(req: Request, res: Response): void {
    if (!on) {
      const message = `${path} is one of the balancer's own routes, switched off here (option routes); it is never forwarded.`;
      return sendError(res, 404, 'not_found', message);
    }
    if (req.method === 'GET' || req.method === 'HEAD')
      return sendError(res, 404, 'not_found', `Nothing here: this path under ${path} is not one the balancer serves.`);
    sendError(res, 405, 'method_not_allowed', `${path} takes GET and HEAD.`, { allow: 'GET, HEAD' });
  };
}

export function balancerRouter(engine: Engine): Router {
  const { config } = engine;
  const { logger, routes } = config;
  const router = express.Router();
  router.use(function refuseWhenClosed(_req: Request, res: Response, next: NextFunction) {
    if (!engine.isClosed()) return next();
    sendError(res, 503, 'balancer_closed', 'This balancer is shutting down.', { connection: 'close' });
  });
  router.use(refuseOptions(config.cors !== false));
  if (config.cors) router.use(corsFor(config.cors), refuseOtherOrigins(config.cors.origins));
  const requireAdmin = config.adminToken ? requireAdminToken(config.adminToken, engine.onRefused) : undefined;
  const adminOnly = function adminOnly(req: Request, res: Response, next: NextFunction) {
    if (!requireAdmin || requireAdmin(req, res)) next();
  };
  // Which replica answered, on the balancer's own routes (never on proxied answers: clients need not know).
  const replica = function replicaHeader(_req: Request, res: Response, next: NextFunction) {
    res.setHeader(REPLICA_HEADER, config.replicaId);
    next();
  };
  const metricsOn = config.metrics !== false && routes.metrics;
  if (routes.health) router.get('/health', replica, guarded(healthHandler(engine), logger));
  if (routes.stats) router.get('/stats', replica, adminOnly, guarded(statsHandler(engine), logger));
  if (config.metrics && metricsOn)
    router.get(config.metrics.path, replica, adminOnly, guarded(metricsHandler(engine), logger));
  if (routes.status) {
    const guard = config.adminToken ? requireAdminForBrowser(config.adminToken, engine.onRefused) : undefined;
    router.use('/status', replica, statusRouter(engine.pool, guard, config.modelRoutes, engine.clients));
  }
  if (routes.admin) {
    const disableScope = engine.storeStatus() === 'local' ? 'this replica' : 'fleet';
    const admin = adminRouter({
      keys: engine.keys,
      requireAdmin,
      stats: engine.freshStats,
      replica: config.replicaId,
      disableScope,
      clients: clientsAdminRouter(engine.clients, config.replicaId),
    });
    router.use('/admin', replica, admin);
  }
  // A client's own figures, with its own token: a path of ours once clients are named.
  if (config.clients) router.get('/usage', replica, guarded(usageHandler(engine.clients, engine.onRefused), logger));
  // `metrics: false` leaves the balancer without a metrics path at all: `/metrics` is then the upstream's.
  const ownPaths: Array<[string, boolean]> = [
    ['/health', routes.health],
    ['/stats', routes.stats],
    ['/status', routes.status],
    ['/admin', routes.admin],
  ];
  if (config.metrics) ownPaths.push([config.metrics.path, metricsOn]);
  if (config.clients) ownPaths.push(['/usage', true]);
  for (const [path, on] of ownPaths) router.use(path, replica, ownPath(path, on));
  router.use(guarded((req, res) => engine.handle(req, res), logger));
  router.use(function routeFailed(error: unknown, _req: Request, res: Response, _next: NextFunction) {
    answerFailure(logger, res, error);
  });
  return standingAlone(router, logger);
}

type RouterHandle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/**
 * Lets the Router serve as a plain `node:http` handler too
 * (`http.createServer((req, res) => balancer(req, res))`): Express's Router
 * throws without a `next`, so one of ours answers whatever nothing else did,
 * a JSON 404 (or 500 for an error). Mounted in an app, the app's `next` is used.
 */
export function standingAlone(router: Router, logger: Logger): Router {
  const withRouter = router as Router & { handle: RouterHandle };
  const handle = withRouter.handle.bind(router);
  withRouter.handle = function handleAlone(req, res, next) {
    if (typeof next === 'function') return handle(req, res, next);
    handle(req, res, function finalAnswer(error?: unknown) {
      if (error && error !== 'router' && error !== 'route') return answerFailure(logger, res, error);
      sendError(res, 404, 'not_found', 'Nothing here: this path is not one the balancer serves.');
    });
  };
  return router;
}
