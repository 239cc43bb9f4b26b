// What every request of one engine shares, built once by the engine (never the whole configuration), and the shape
// of a stage that may end a request before any upstream call.
import type { BalancerErrorCode } from '../answers/error-codes.js';
import type { NoKeyReason } from '../pool/pool.js';
import type { LoopDeps } from './attempt-loop.js';
import type { BodyBudget } from './body-budget.js';
import type { AnswerDeps } from './chosen-answer.js';
import type { RequestFlow } from './request-flow.js';

/** One of our own answers that ends a request before any upstream call. */
export interface Refusal {
  status: number;
  code: BalancerErrorCode;
  message: string;
  headers?: Record<string, string>;
}

/** A check between the body and the attempts (a client's limits, an allowlist): a refusal, or undefined to go on. */
export type Gate = (request: RequestFlow) => Refusal | undefined | Promise<Refusal | undefined>;

/** What every request of one engine shares: built once, never the whole configuration. */
export interface RequestDeps extends LoopDeps, AnswerDeps {
  /** The target URL's path, which every upstream path starts with. */
  targetPath: string;
  maxBodyBytes: number;
  bodies: BodyBudget;
  gates: readonly Gate[];
  /** A request answered without an upstream call because no key could take it. */
  noKey(reason: NoKeyReason['kind']): void;
}
