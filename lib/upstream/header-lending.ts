// The one place that leans on http-proxy's internals. http-proxy (under
// http-proxy-middleware 3) builds the upstream request from the client
// request's `req.headers`, copied synchronously right after it emits `start`.
// An attempt's own headers (the pool key, no client credentials, no
// hop-by-hop ones) are lent to `req.headers` for exactly that copy, so nothing
// need be removed from the upstream request afterwards, and the client's are
// back in a microtask, before any other code (the host app's logger included)
// runs. test/e2e/header-lending.e2e.spec.ts fails loudly if an update of
// http-proxy-middleware breaks either half.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

/** Lends `headers` to `req` until the current synchronous run ends. */
export function lendHeaders(req: IncomingMessage, headers: OutgoingHttpHeaders): void {
  const clientHeaders = req.headers;
  req.headers = headers as IncomingHttpHeaders;
  queueMicrotask(() => {
    req.headers = clientHeaders;
  });
}
