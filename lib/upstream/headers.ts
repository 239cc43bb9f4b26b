import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and proxy credentials: never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Client headers the upstream must not see: credentials, and what we set ourselves. */
const DROPPED_UPSTREAM = new Set([
  ...HOP_BY_HOP,
  'authorization',
  'x-api-key',
  'cookie',
  'host',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'forwarded',
  'accept-encoding',
]);

const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);

/** Header names listed in a Connection header are hop-by-hop too. */
function connectionListed(headers: IncomingHttpHeaders): Set<string> | undefined {
  const value = headers.connection;
  // The usual values name no extra header: skip the split on the hot path.
  if (!value || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  return new Set(
    value
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
}

export interface UpstreamHeaderInput {
  clientHeaders: IncomingHttpHeaders;
  host: string;
  key: string;
  method: string;
  bodyLength: number;
  /** The client authenticated with x-api-key (Anthropic style): send the pool key that way too. */
  useApiKeyHeader: boolean;
  clientAddress?: string;
}

export function upstreamHeaders(input: UpstreamHeaderInput): OutgoingHttpHeaders {
  const listed = connectionListed(input.clientHeaders);
  const out: OutgoingHttpHeaders = {};
  for (const name in input.clientHeaders) {
    if (DROPPED_UPSTREAM.has(name) || listed?.has(name)) continue;
    out[name] = input.clientHeaders[name];
  }
  out.host = input.host;
  out.authorization = `Bearer ${input.key}`;
  if (input.useApiKeyHeader) out['x-api-key'] = input.key;
  // Identity encoding: error bodies can be scrubbed of echoed tokens, and SSE is never held back by a compressor.
  out['accept-encoding'] = 'identity';
  if (input.bodyLength > 0 || !BODILESS_METHODS.has(input.method)) {
    out['content-length'] = String(input.bodyLength);
  }
  if (input.clientAddress) out['x-forwarded-for'] = input.clientAddress;
  return out;
}

/** Upstream response headers fit for the client: everything but hop-by-hop, each value scrubbed of key pieces. */
export function downstreamHeaders(
  headers: IncomingHttpHeaders,
  scrubber: { scrub(text: string): string },
): OutgoingHttpHeaders {
  const listed = connectionListed(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    const value = headers[name];
    if (typeof value === 'string') out[name] = scrubber.scrub(value);
    else if (Array.isArray(value)) out[name] = value.map((item) => scrubber.scrub(item));
  }
  return out;
}
