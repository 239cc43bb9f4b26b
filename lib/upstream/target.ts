import http from 'node:http';
import https from 'node:https';

/** Where upstream requests go, in the form node:http wants (IPv6 hosts without brackets). */
export interface RequestTarget {
  transport: typeof http | typeof https;
  protocol: string;
  hostname: string;
  port: string | undefined;
  /** The target's base path without a trailing slash ('' for the root). */
  basePath: string;
}

export function requestTarget(url: URL): RequestTarget {
  return {
    transport: url.protocol === 'https:' ? https : http,
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || undefined,
    basePath: url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname,
  };
}
