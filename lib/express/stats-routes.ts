// GET /health, /stats and the metrics route: what an operator (or Prometheus) reads of the pool.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../answers/send.js';
import type { Engine } from '../engine/engine.js';
import { healthView } from '../views/health.js';

/** GET /health: 200 while some key can take a request now, else 503 (`reason: no_keys` for an empty pool). */
export function healthHandler(engine: Engine) {
  return function serveHealth(_req: IncomingMessage, res: ServerResponse): void {
    const view = healthView(engine.pool, engine.storeStatus());
    sendJson(res, view.status === 'ok' ? 200 : 503, view, { 'cache-control': 'no-store' });
  };
}

/** GET /stats: an object keyed by each key's label, the shape of the original Go service. */
export function statsHandler(engine: Engine) {
  return async function serveStats(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    sendJson(res, 200, await engine.freshStats(), { 'cache-control': 'no-store' });
  };
}

/** The metrics route: the registry in Prometheus's text format. */
export function metricsHandler(engine: Engine) {
  return async function serveMetrics(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await engine.registry.metrics();
    res.writeHead(200, {
      'content-type': engine.registry.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  };
}
