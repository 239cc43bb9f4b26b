// The clients' routes: GET /usage for a client's own figures (with its own token), and under the admin API
// GET/POST /admin/clients, PATCH/DELETE /admin/clients/{name}. Runtime changes are this replica's: no replica holds
// another's tokens (Redis never sees one), so a fleet shares its clients through the clients file.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type Response, type Router } from 'express';
import { sendError, sendJson } from '../answers/send.js';
import type { ClientBook } from '../clients/client-book.js';
import { ClientChangeError } from '../clients/client-change-error.js';
import { limitsShown } from '../clients/client-registry.js';
import { type OnRefused, presentedToken } from '../engine/access.js';
import { jsonBody } from './admin-routes.js';

const NO_STORE = { 'cache-control': 'no-store' };

/** GET /usage: the figures of the client whose token the request presents, never another's. */
export function usageHandler(clients: ClientBook, onRefused: OnRefused) {
  return async function usage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const identity = clients.registry.identify(presentedToken(req.headers));
    if (!identity?.entry) {
      onRefused(req, 'invalid_access_token');
      return sendError(
        res,
        401,
        'invalid_access_token',
        "GET /usage shows a named client's own figures: send `Authorization: Bearer <your client token>` (an " +
          'unnamed access token has none of its own).',
        { 'www-authenticate': 'Bearer realm="modelscope-balance"' },
      );
    }
    sendJson(res, 200, await clients.report(identity.name), NO_STORE);
  };
}

/** A refused client change, answered with the status its code stands for. */
function refused(res: ServerResponse, error: unknown, what: string): void {
  if (!(error instanceof ClientChangeError))
    return sendError(res, 500, 'internal_error', `The client could not be ${what}.`);
  if (error.code === 'ERR_MSB_CLIENT_EXISTS') return sendError(res, 409, 'client_exists', error.message);
  if (error.code === 'ERR_MSB_CLIENT_NOT_FOUND')
    return sendError(res, 404, 'client_not_found', `${error.message} GET /admin/clients lists them.`);
  sendError(res, 400, 'bad_request', error.message);
}

/** The routes under /admin/clients (the admin router checks the admin token first). */
export function clientsAdminRouter(clients: ClientBook, replica: string): Router {
  const router = express.Router();
  router.get('/', async function listClients(_req: Request, res: Response) {
    sendJson(res, 200, { clients: await clients.list(), replica }, NO_STORE);
  });
  router.post('/', async function addClient(req: Request, res: Response) {
    try {
      const entry = clients.add(await jsonBody(req));
      sendJson(res, 201, { name: entry.name, limits: limitsShown(entry.limits), scope: 'this replica', replica });
    } catch (error) {
      refused(res, error, 'added');
    }
  });
  router.patch('/:name', async function changeClient(req: Request, res: Response) {
    try {
      const entry = clients.update(String(req.params.name), await jsonBody(req));
      sendJson(res, 200, { name: entry.name, limits: limitsShown(entry.limits), scope: 'this replica', replica });
    } catch (error) {
      refused(res, error, 'changed');
    }
  });
  router.delete('/:name', function removeClient(req: Request, res: Response) {
    const name = String(req.params.name);
    try {
      clients.remove(name);
      sendJson(res, 200, { removed: name, scope: 'this replica', replica });
    } catch (error) {
      refused(res, error, 'removed');
    }
  });
  return router;
}
