// The first stage of a proxied request: a method ModelScope's API serves, and a path that stays under the target's.
// Anything else is answered here and never forwarded.
import { upstreamPath } from '../upstream/upstream-path.js';
import type { Refusal } from './request-deps.js';

/** The methods ModelScope's API serves. */
const FORWARDED_METHODS = new Set(['GET', 'HEAD', 'POST']);

/** The upstream path for `url`, or the refusal to answer with. */
export function admit(method: string, url: string, targetPath: string): { path: string } | { refusal: Refusal } {
  if (!FORWARDED_METHODS.has(method)) {
    const message = `ModelScope's API takes GET and POST; ${method.slice(0, 20)} is not forwarded.`;
    return { refusal: { status: 405, code: 'method_not_allowed', message, headers: { allow: 'GET, HEAD, POST' } } };
  }
  const path = upstreamPath(targetPath, url);
  if (path !== undefined) return { path };
  const message =
    'The request path has dot segments, encoded slashes or backslashes; send a plain path such as ' +
    '/v1/chat/completions.';
  return { refusal: { status: 400, code: 'bad_path', message } };
}
