// What model routes add to answers: the header naming the model that served a
// routed request, the 429 that names the models used up on every key (no
// upstream call spent), and the route names in the models list.
import type { ServerResponse } from 'node:http';
import type { ErrorDialect } from '../answers/dialect.js';
import { answerUsedUp } from '../answers/no-key-answer.js';
import type { NoKeyReason } from '../pool/pool.js';
import type { KeyScrubber } from '../upstream/scrub.js';
import { withRouteNames, MODEL_LIST_PATH } from './model-list.js';
import type { ModelRouter } from './model-router.js';
import type { RoutePool, RouteWalk } from './route-walk.js';
import { modelsUsedUpMessage } from './used-up-message.js';

/** On every routed answer (streams included): the model id that served it, or was last tried. */
export const MODEL_HEADER = 'x-modelscope-balance-model';

/** The pool as the used-up answer reads it. */
export interface UsedUpPool extends Pick<RoutePool, 'whyNone'> {
  /** Whether any account has per-model figures (else no exhaustion can be a model's). */
  tracksModels(): boolean;
}

/** The balancer's own headers of a routed answer: `headers` with the model that served it (or was tried last). */
export function withModelHeader(headers: Record<string, string>, route: RouteWalk | undefined): Record<string, string> {
  return route?.model ? { ...headers, [MODEL_HEADER]: route.model } : headers;
}

/** The request a used-up answer is written for. */
export interface UsedUpRequest {
  readonly res: ServerResponse;
  readonly dialect: ErrorDialect;
  readonly route: RouteWalk | undefined;
  upstreamModel(): string | undefined;
}

/**
 * Answers 429 `daily_quota_exhausted` naming the models when no key could take the request because its model (on a
 * route: every model of it) is used up on every key; false, answering nothing, for any other reason.
 */
export function answerUsedUpModels(
  deps: { pool: UsedUpPool; now(): number; scrubber: KeyScrubber },
  request: UsedUpRequest,
  reason: NoKeyReason,
  headers: Record<string, string>,
): boolean {
  const usedUp = usedUpModels(deps.pool, reason, request.route, () => request.upstreamModel());
  if (!usedUp) return false;
  // The model may be the client's own text: no piece of a key goes back in it.
  const message = deps.scrubber.scrub(usedUp.message);
  answerUsedUp(request.res, usedUp.retryAt, deps.now(), headers, message, request.dialect);
  return true;
}

/**
 * The 429 for a request no key could take because its model (a route: every model of it) is used up on every key
 * while the accounts still have allowance: its message and when the first comes back. Undefined for any other
 * reason, which the usual no-key answer words.
 */
export function usedUpModels(
  pool: UsedUpPool,
  reason: NoKeyReason,
  route: RouteWalk | undefined,
  model: () => string | undefined,
): { message: string; retryAt: number } | undefined {
  if (reason.kind !== 'exhausted' || !pool.tracksModels()) return undefined;
  const name = route ? undefined : model();
  const models = route ? route.models : name === undefined ? [] : [name];
  const message = modelsUsedUpMessage(pool, models, reason.retryAt, route?.name);
  return message === undefined ? undefined : { message, retryAt: reason.retryAt };
}

/** For `GET /v1/models` with routes configured: what adds the route names to the list. */
export function modelListFinish(
  router: ModelRouter,
  method: string,
  path: string,
): ((body: Buffer) => Buffer) | undefined {
  if (router.routes.size === 0 || method !== 'GET' || path !== MODEL_LIST_PATH) return undefined;
  return (body) => withRouteNames(body, router.names);
}
