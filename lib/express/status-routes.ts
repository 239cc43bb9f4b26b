// /status (the page), /status/data (its refresh), and the page's own script
// and style. Guarded like /stats: when an admin token is set, Bearer or Basic.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { TokenCheck } from '../engine/access.js';
import { sendJson } from '../answers/send.js';
import type { KeyPool } from '../pool/pool.js';
import type { ResolvedModelRoutes } from '../model-routes/model-routes.js';
import { STATUS_SCRIPT, STATUS_STYLE } from '../views/status-assets.js';
import { renderKeyRow, renderStatusPage, renderSummary } from '../views/status-page.js';
import { statusView } from '../views/status-view.js';
import type { ClientBook } from '../clients/client-book.js';
import { renderClientsTable } from '../views/status-clients.js';

const REFRESH_SECONDS = 5;
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function asset(type: string, body: string) {
  const bytes = Buffer.from(body);
  return function serveAsset(_req: Request, res: Response): void {
    res.writeHead(200, {
      'content-type': type,
      'content-length': bytes.length,
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
    });
    res.end(bytes);
  };
}

/** Mounted at /status, so a proxied request passes it with one prefix check. */
export function statusRouter(
  pool: KeyPool,
  guard: TokenCheck | undefined,
  routes: ResolvedModelRoutes = new Map(),
  clients?: ClientBook,
): Router {
  const clientsTable = () => renderClientsTable(clients?.overview() ?? []);
  const router = express.Router();
  const guarded = function statusGuard(req: Request, res: Response, next: NextFunction) {
    if (!guard || guard(req, res)) next();
  };
  router.get('/', guarded, function statusPage(req: Request, res: Response) {
    // req.baseUrl ends in /status: the page's own URLs are built from the balancer's mount point.
    const base = req.baseUrl.slice(0, -'/status'.length);
    const html = Buffer.from(
      renderStatusPage(statusView(pool, pool.now(), routes), base, REFRESH_SECONDS, clientsTable()),
    );
    res.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': html.length });
    res.end(html);
  });
  router.get('/data', guarded, function statusData(_req: Request, res: Response) {
    const now = pool.now();
    const view = statusView(pool, now, routes);
    sendJson(
      res,
      200,
      {
        view,
        html: {
          summary: renderSummary(view),
          rows: view.keys.map((key) => renderKeyRow(key, now)).join(''),
          clients: clientsTable(),
        },
      },
      PAGE_HEADERS,
    );
  });
  router.get('/app.js', asset('text/javascript; charset=utf-8', STATUS_SCRIPT));
  router.get('/style.css', asset('text/css; charset=utf-8', STATUS_STYLE));
  return router;
}
