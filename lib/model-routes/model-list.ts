// `GET /v1/models` with the route names added, so clients and UIs that offer
// the models a server lists can pick an alias. The upstream's list passes as
// it came; only names it lacks are appended, marked as ours.

/** `owned_by` of the entries the balancer adds: a route, not a model ModelScope serves. */
export const ROUTE_OWNER = 'modelscope-balance';

/** The list endpoint whose answer gets the route names (relative to the target's path). */
export const MODEL_LIST_PATH = '/v1/models';

interface ModelList {
  data: unknown[];
}

function isModelList(value: unknown): value is ModelList {
  return typeof value === 'object' && value !== null && Array.isArray((value as { data?: unknown }).data);
}

function idOf(entry: unknown): unknown {
  return typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
}

/**
 * The models list in `body` (OpenAI's `{ object: 'list', data: [{ id, object, created, owned_by }] }`) with an entry
 * for each route name it does not list yet; `body` itself when it is not such a list (an error, another shape) or
 * lists them all.
 */
export function withRouteNames(body: Buffer, names: Iterable<string>): Buffer {
  let list: unknown;
  try {
    list = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (!isModelList(list)) return body;
  const listed = new Set(list.data.map(idOf));
  const added = [...names]
    .filter((name) => !listed.has(name))
    .map((id) => ({ id, object: 'model', created: 0, owned_by: ROUTE_OWNER }));
  if (added.length === 0) return body;
  return Buffer.from(JSON.stringify({ ...list, data: [...list.data, ...added] }), 'utf8');
}
