import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import { modelscopeBalance, type Balancer } from '../lib/index.js';
import { answerClientErrors } from './client-errors.js';
import { scrubLoggerWith } from './logger.js';
import { balancerOptions } from './load-settings.js';
import type { Settings } from './config-schema.js';

export interface RunningServer {
  server: http.Server;
  balancer: Balancer;
  port: number;
  /** Stops accepting, lets requests in flight finish within the grace period, closes the balancer. */
  shutdown(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function sendJsonError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({
    error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', code },
  });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The Express app: the balancer at `mount`, a JSON 404 outside it, a JSON 500 for anything that throws. */
export function createApp(mount: string, balancer: Balancer, logger: PinoLogger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(mount, balancer);
  app.use(function notFound(_req: Request, res: Response) {
    sendJsonError(res, 404, 'not_found', `Nothing here; the balancer is mounted at ${mount}.`);
  });
  app.use(function serverError(error: unknown, _req: Request, res: Response, _next: NextFunction) {
    logger.error({ err: String((error as Error)?.message ?? error).slice(0, 200) }, 'request failed');
    if (res.headersSent) return void res.destroy();
    const status = (error as { status?: number }).status;
    if (status && status >= 400 && status < 500)
      sendJsonError(res, status, 'bad_request', 'The request could not be read.');
    else sendJsonError(res, 500, 'internal_error', 'The server failed while handling this request.');
  });
  return app;
}

/** Starts the standalone server: the balancer at `mount_path`, nothing else. */
export async function startServer(settings: Settings, logger: PinoLogger): Promise<RunningServer> {
  // The Redis client is loaded only when a Redis URL is set.
  const store = settings.redis_url
    ? new (await import('../lib/redis.js')).RedisStore({
        url: settings.redis_url,
        prefix: settings.redis_prefix,
        logger,
      })
    : undefined;
  const balancer = modelscopeBalance({ ...balancerOptions(settings), logger, ...(store ? { store } : {}) });
  // The logger scrubs pool keys with the balancer's own index: it follows every change of the pool.
  scrubLoggerWith(logger, balancer.scrub);
  const app = createApp(settings.mount_path, balancer, logger);
  const server = http.createServer(
    {
      requestTimeout: settings.request_timeout_ms,
      headersTimeout: settings.headers_timeout_ms,
      // Node checks those timeouts on this period (30 s by default): check often enough to honour short ones.
      connectionsCheckingInterval: Math.min(1000, settings.headers_timeout_ms),
    },
    app,
  );
  // Longer than the idle timeout of nginx's or a cloud load balancer's upstream connections (60 s): a proxy that
  // reuses a connection we have just closed gets a reset (nginx: 502). Measured on Node 20: neither headersTimeout
  // nor requestTimeout closes an idle kept-alive connection (they count from the next request's first byte), so
  // they stay short and slow-header protection is not weakened.
  server.keepAliveTimeout = settings.keep_alive_timeout_ms;
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.server_port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info(
    {
      host: settings.host,
      port,
      mount_path: settings.mount_path,
      target: settings.target_url,
      strategy: settings.strategy,
      keys: Object.keys(balancer.stats()),
      health_check: settings.health_check,
      access_control: settings.access_tokens.length > 0,
    },
    `modelscope-balance listening on http://${settings.host}:${port}${settings.mount_path}`,
  );
  if (!isLoopback(settings.host) && settings.access_tokens.length === 0) {
    logger.warn(
      { host: settings.host },
      'listening on a non-loopback address with no access tokens: anyone who reaches this port spends your ' +
        'ModelScope quota. Set BALANCE_ACCESS_TOKENS.',
    );
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () =>
    (shuttingDown ??= new Promise<void>((resolve) => {
      logger.info(
        { grace_ms: settings.shutdown_grace_ms },
        'shutting down: no new connections, waiting for requests in flight',
      );
      const force = setTimeout(() => {
        logger.warn({}, 'grace period over: closing the connections still open');
        server.closeAllConnections();
      }, settings.shutdown_grace_ms);
      server.close(() => {
        clearTimeout(force);
        void balancer.close().then(resolve);
      });
      server.closeIdleConnections();
    }));
  // While draining: new answers ask keep-alive clients to go, and a connection whose
  // request just finished is closed at once rather than left to idle out.
  server.on('request', (_req, res: http.ServerResponse) => {
    if (shuttingDown) res.setHeader('connection', 'close');
    res.once('finish', () => {
      if (shuttingDown) setImmediate(() => server.closeIdleConnections());
    });
  });
  return { server, balancer, port, shutdown };
}
