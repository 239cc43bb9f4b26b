// Browser access: CORS by the `cors` package when the `cors` option is set, OPTIONS answered only as a preflight,
// and requests from other origins refused before any key is used.
import type { IncomingMessage } from 'node:http';
import cors from 'cors';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from '../answers/send.js';
import type { CorsOptions } from '../options/options.js';

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
export function corsFor(options: CorsOptions) {
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
export function refuseOptions(cors: boolean) {
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
