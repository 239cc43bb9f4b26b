import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger as PinoLogger } from 'pino';
import { sendError } from '../lib/error-response.js';
import { modelscopeBalance, type Balancer } from '../lib/index.js';
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

/**
 * Routes requests under `mount` to the balancer, the mount stripped from the
 * URL as Express would. The standalone server needs nothing else from a
 * framework, and Express's per-request work would cost it half its throughput.
 */
function mountAt(mount: string, balancer: Balancer): http.RequestListener {
  const prefix = mount.endsWith('/') ? mount.slice(0, -1) : mount;
  const notFound = (res: http.ServerResponse) => sendError(res, 404, 'not_found', `Nothing here; the balancer is mounted at ${mount}.`);
  return function serveMounted(req, res) {
    if (prefix) {
      const url = req.url ?? '/';
      const rest = url.slice(prefix.length);
      if (!url.startsWith(prefix) || (rest !== '' && rest[0] !== '/' && rest[0] !== '?')) return notFound(res);
      req.url = rest === '' || rest[0] === '?' ? `/${rest}` : rest;
    }
    balancer(req as never, res as never, () => notFound(res));
  };
}

/** Starts the standalone server: the balancer at `mount_path`, nothing else. */
export async function startServer(settings: Settings, logger: PinoLogger): Promise<RunningServer> {
  const balancer = modelscopeBalance({ ...balancerOptions(settings), logger });
  const app = mountAt(settings.mount_path, balancer);
  const server = http.createServer({
    requestTimeout: settings.request_timeout_ms,
    headersTimeout: settings.headers_timeout_ms,
    // Node checks those timeouts on this period (30 s by default): check often enough to honour short ones.
    connectionsCheckingInterval: Math.min(1000, settings.headers_timeout_ms),
  }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.server_port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({
    host: settings.host, port, mount_path: settings.mount_path, target: settings.target_url, strategy: settings.strategy,
    keys: Object.keys(balancer.stats()), health_check: settings.health_check, access_control: settings.access_tokens.length > 0,
  }, `modelscope-balance listening on http://${settings.host}:${port}${settings.mount_path}`);
  if (!isLoopback(settings.host) && settings.access_tokens.length === 0) {
    logger.warn({ host: settings.host },
      'listening on a non-loopback address with no access tokens: anyone who reaches this port spends your ModelScope quota. Set BALANCE_ACCESS_TOKENS.');
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = () => (shuttingDown ??= new Promise<void>((resolve) => {
    logger.info({ grace_ms: settings.shutdown_grace_ms }, 'shutting down: no new connections, waiting for requests in flight');
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
