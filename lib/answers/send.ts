// The one writer of the balancer's own answers: JSON with a correct Content-Length, with or without Express, errors
// in the request's dialect.
import type { ServerResponse } from 'node:http';
import { dialectOf, type ErrorDialect } from './dialect.js';
import type { BalancerErrorCode } from './error-codes.js';

/** Sends a JSON body with a correct Content-Length; works with or without Express. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * Answers with one of our own errors in the request's dialect (OpenAI's unless the request reads another), unless
 * the response has already begun: then the connection is cut, so no client takes half an answer for a whole one.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  code: BalancerErrorCode,
  message: string,
  extraHeaders: Record<string, string> = {},
  dialect: ErrorDialect = dialectOf(res.req),
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = dialect.errorBody(status, code, message);
  res.writeHead(status, {
    ...extraHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
