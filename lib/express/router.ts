// The balancer's own routes, as an Express Router: /health, /stats and the
// metrics path as GET routes, then the proxy for everything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { TokenCheck } from '../engine/access.js';
import { adminRouter } from './admin-routes.js';
import type { KeyAdmin } from '../engine/key-admin.js';
import { statusRouter } from './status-routes.js';
import { sendError } from '../answers/error-response.js';
import type { Logger } from '../observe/logger.js';
import type { KeyPool } from '../pool/pool.js';
import type { CorsOptions } from '../options/options.js';
import type { ResolvedConfig } from '../options/resolve-options.js';
import { createHealthHandler, createStatsHandler } from '../views/key-stats.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RouterParts {
  config: ResolvedConfig;
  pool: KeyPool;
  logger: Logger;
  /** Whether the balancer is closed: everything then answers 503. */
  closed(): boolean;
  requireAdmin: TokenCheck | undefined;
  proxy: Handler;
  keys: KeyAdmin;
  stats(): Record<string, unknown>;
  /** The same, with the fleet's counts read from the store first (for /stats and /admin/keys). */
  freshStats(): Promise<Record<string, unknown>>;
  /** The status page's guard: the admin token as Bearer or as a Basic password. */
  requireAdminInBrowser: TokenCheck | undefined;
}

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

/** On the balancer's own answers: the replica that gave them (`replicaId`). */
export const REPLICA_HEADER = 'x-modelscope-balance-replica';

/** Headers a browser client may read on our answers: request id, retry hints, quota figures. */
const EXPOSED_HEADERS = [
  'x-request-id',
  'retry-after',
  'x-should-retry',
  'x-modelscope-balance-attempts',
  'modelscope-ratelimit-requests-limit',
  'modelscope-ratelimit-requests-remaining',
  'modelscope-ratelimit-model-requests-limit',
  'modelscope-ratelimit-model-requests-remaining',
];

/**
 * CORS by the `cors` package: preflights are answered here (204), never
 * forwarded and needing no token (browsers send none on a preflight); the
 * allow-origin headers go on JSON and SSE answers alike.
 */
function corsFor(options: Exclude<ResolvedConfig['cors'], false>) {
  return cors({
    origin: options.origins === '*' ? '*' : [...options.origins],
    methods: ['GET', 'HEAD', 'POST'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: options.maxAgeSeconds,
    preflightContinue: false,
    optionsSuccessStatus: 204,
  });
}

/** A CORS preflight: what the `cors` package answers (any other OPTIONS is not ours to answer with 200). */
function isPreflight(req: IncomingMessage): boolean {
  return req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/**
 * OPTIONS is answered 405 unless it is a CORS preflight and `cors` is set: Express would otherwise answer it 200
 * with the methods of our own routes (/status, /stats, /admin …) to anyone, token or not.
 */
function refuseOptions(cors: boolean) {
  return function optionsOnlyAsPreflight(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'OPTIONS' || (cors && isPreflight(req))) return next();
    sendError(
      res,
      405,
      'method_not_allowed',
      'OPTIONS is answered only as a CORS preflight, when the cors option is set; send GET, HEAD or POST.',
      { allow: 'GET, HEAD, POST' },
    );
  };
}

/**
 * With `cors` set, a request whose Origin is neither allowed nor the balancer's own host is refused before any
 * key is used: a browser sends a no-cors POST (`text/plain`) without a preflight, and only the answer would be
 * hidden from the page, not the call to ModelScope. Requests without Origin (servers, SDKs) pass.
 */
export function refuseOtherOrigins(origins: CorsOptions['origins']) {
  const allowed = new Set(origins === '*' ? [] : origins);
  return function originAllowed(req: Request, res: Response, next: NextFunction): void {
    const origin = req.headers.origin;
    if (origins === '*' || origin === undefined || allowed.has(origin) || sameOrigin(origin, req.headers.host))
      return next();
    sendError(
      res,
      403,
      'origin_not_allowed',
      'This origin may not call the balancer: add it to the cors origins (cors_origins) or call from a server.',
      { vary: 'Origin' },
    );
  };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function balancerRouter(parts: RouterParts): Router {
  const { config, pool, logger, requireAdmin } = parts;
  const router = express.Router();
  router.use(function refuseWhenClosed(_req: Request, res: Response, next: NextFunction) {
    if (!parts.closed()) return next();
    sendError(res, 503, 'balancer_closed', 'This balancer is shutting down.', { connection: 'close' });
  });
  router.use(refuseOptions(config.cors !== false));
  if (config.cors) router.use(corsFor(config.cors), refuseOtherOrigins(config.cors.origins));
  const adminOnly = function adminOnly(req: Request, res: Response, next: NextFunction) {
    if (!requireAdmin || requireAdmin(req, res)) next();
  };
  // Which replica answered, on the balancer's own routes (never on proxied answers: clients need not know).
  const replica = function replicaHeader(_req: Request, res: Response, next: NextFunction) {
    res.setHeader(REPLICA_HEADER, config.replicaId);
    next();
  };
  router.get(
    '/health',
    replica,
    guarded(
      createHealthHandler(pool, () => config.store.status()),
      logger,
    ),
  );
  router.get('/stats', replica, adminOnly, guarded(createStatsHandler(parts.freshStats), logger));
  if (config.metrics) {
    router.get(
      config.metrics.path,
      replica,
      adminOnly,
      guarded(async function serveMetrics(_req, res) {
        const text = await config.registry.metrics();
        res.writeHead(200, {
          'content-type': config.registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        res.end(text);
      }, logger),
    );
  }
  router.use('/status', replica, statusRouter(pool, parts.requireAdminInBrowser));
  router.use(
    '/admin',
    replica,
    adminRouter({
      keys: parts.keys,
      requireAdmin,
      stats: parts.freshStats,
      replica: config.replicaId,
      holdScope: config.store.status() === 'local' ? 'this replica' : 'fleet',
    }),
  );
  router.use(guarded(parts.proxy, logger));
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
function standingAlone(router: Router, logger: Logger): Router {
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
