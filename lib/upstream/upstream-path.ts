/**
 * The path and query sent upstream for a request URL (relative to the mount
 * point). Only the path and query of the client's URL are used, so an
 * absolute-form request line or a Host header can't redirect the request;
 * dot segments and encoded slashes are refused rather than normalised, so no
 * request reaches a path outside the target's.
 */
export function upstreamPath(targetPath: string, requestUrl: string): string | undefined {
  let pathAndQuery = requestUrl;
  if (!requestUrl.startsWith('/')) {
    try {
      const absolute = new URL(requestUrl);
      pathAndQuery = absolute.pathname + absolute.search;
    } catch {
      return undefined;
    }
  }
  const queryAt = pathAndQuery.indexOf('?');
  const path = queryAt === -1 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  if (path.includes('\\') || /%(2f|5c)/i.test(path)) return undefined;
  if (path.includes('.') || path.includes('%')) {
    for (const segment of path.split('/')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return undefined;
      }
      if (decoded === '.' || decoded === '..') return undefined;
    }
  }
  const base = targetPath.endsWith('/') ? targetPath.slice(0, -1) : targetPath;
  return base + pathAndQuery;
}
