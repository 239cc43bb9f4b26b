// The admin API under the mount point: keys listed, added, removed, disabled,
// enabled and probed at runtime. Only with an admin token; never echoes a key.
import type { IncomingMessage } from 'node:http';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { sendError, sendJson } from '../answers/send.js';
import type { TokenCheck } from '../engine/access.js';
import type { KeyAdmin } from '../engine/key-admin.js';
import { KeyChangeError } from '../engine/key-change-error.js';
import type { KeySpec } from '../options/options.js';

const MAX_ADMIN_BODY = 64 * 1024;

/** The JSON body of an admin request: parsed already by the host app, or read here (64 KiB at most). */
export function jsonBody(req: IncomingMessage & { body?: unknown }): Promise<unknown> {
  if (req.body !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body))
    return Promise.resolve(req.body);
  if (req.readableEnded) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ADMIN_BODY) chunks.push(chunk);
    });
    req.once('end', () => {
      if (size > MAX_ADMIN_BODY) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(undefined);
      }
    });
    req.once('error', () => resolve(undefined));
  });
}

/** A body that names a key to add; the rest of the spec (label, weight, account) is checked by the pool's rules. */
function isKeyRequest(body: unknown): body is KeySpec {
  return (
    typeof body === 'object' && body !== null && !Array.isArray(body) && 'key' in body && typeof body.key === 'string'
  );
}

export interface AdminParts {
  keys: KeyAdmin;
  requireAdmin: TokenCheck | undefined;
  /** The pool as /stats shows it, fleet counts read first. */
  stats(): Promise<Record<string, unknown>>;
  /** This replica's id, in every answer that changed something. */
  replica: string;
  /**
   * Where disabling reaches: every replica on the shared store, or this one. Membership (add, remove) is always this
   * replica's: Redis never holds a token, so no other replica could use a key added here.
   */
  disableScope: 'fleet' | 'this replica';
  /** The routes under /admin/clients. */
  clients?: Router;
}

export function adminRouter({ keys, requireAdmin, stats, replica, disableScope, clients }: AdminParts): Router {
  const router = express.Router();
  router.use(function adminGuard(req: Request, res: Response, next: NextFunction) {
    if (!requireAdmin) {
      return sendError(
        res,
        403,
        'admin_disabled',
        'The admin API is off: set the adminToken option (BALANCE_ADMIN_TOKEN) to use it.',
      );
    }
    if (requireAdmin(req, res)) next();
  });
  router.get('/keys', async function listKeys(_req: Request, res: Response) {
    sendJson(res, 200, await stats(), { 'cache-control': 'no-store' });
  });
  router.post('/keys', async function addKey(req: Request, res: Response) {
    const body = await jsonBody(req);
    if (!isKeyRequest(body)) {
      return sendError(
        res,
        400,
        'bad_request',
        'Send a JSON object such as {"key": "ms-…", "label": "alice", "weight": 1, "account": "team"}.',
      );
    }
    try {
      sendJson(res, 201, { label: keys.add(body), scope: 'this replica', replica });
    } catch (error) {
      if (!(error instanceof KeyChangeError))
        return sendError(res, 500, 'internal_error', 'The key could not be added.');
      if (error.code === 'ERR_MSB_KEY_EXISTS') return sendError(res, 409, 'key_exists', error.message);
      sendError(res, 400, 'bad_request', error.message);
    }
  });
  const notFound = (res: Response, label: string) =>
    sendError(
      res,
      404,
      'key_not_found',
      `No key is labelled ${JSON.stringify(label.slice(0, 100))}; GET /admin/keys lists them.`,
    );
  router.delete('/keys/:label', function removeKey(req: Request, res: Response) {
    const label = String(req.params.label);
    if (!keys.remove(label)) return notFound(res, label);
    sendJson(res, 200, { removed: label, scope: 'this replica', replica });
  });
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/keys/:label/${action}`, function disableOrEnable(req: Request, res: Response) {
      const label = String(req.params.label);
      if (!keys[action](label)) return notFound(res, label);
      sendJson(res, 200, { label, disabled: action === 'disable', scope: disableScope, replica });
    });
  }
  router.post('/keys/:label/check', async function checkKey(req: Request, res: Response) {
    const label = String(req.params.label);
    const check = await keys.check(label);
    if (!check) return notFound(res, label);
    sendJson(res, 200, check);
  });
  if (clients) router.use('/clients', clients);
  // Anything else under /admin is ours too: never forwarded upstream with a pool key.
  router.use(function unknownAdminRoute(_req: Request, res: Response) {
    sendError(
      res,
      404,
      'not_found',
      'Admin routes: GET/POST /admin/keys, DELETE /admin/keys/{label}, POST ' +
        '/admin/keys/{label}/(disable|enable|check), GET/POST /admin/clients, PATCH/DELETE /admin/clients/{name}.',
    );
  });
  return router;
}
