// The error dialect of a request: the shape of every answer the balancer writes itself (401, 429 while keys cool,
// 503, 504, 413 …), of the last event of a stream that broke off, and of upstream error bodies passed on. One writer
// (send.ts) takes the request's dialect, so a client that reads another shape (Anthropic's
// `{"type":"error","error":{…}}`) needs only a second dialect here and a rule in `dialectOf`.
import type { IncomingMessage } from 'node:http';
import type { BalancerErrorCode } from './error-codes.js';
import { OPENAI_DIALECT } from './openai-dialect.js';

export interface ErrorDialect {
  readonly name: string;
  /** The JSON body of one of our own errors. */
  errorBody(status: number, code: BalancerErrorCode, message: string): string;
  /** The last event of an event stream that broke off, so no client takes a cut answer for a whole one. */
  streamError(status: number, code: BalancerErrorCode, message: string): string;
  /**
   * An upstream error body, reshaped for this dialect's clients with `code` (or the upstream's own) where we know
   * what happened; the body itself when it is already in shape or cannot be read.
   */
  upstreamError(status: number, body: Buffer, code: BalancerErrorCode | undefined): Buffer;
}

/**
 * The dialect a request's own answers are written in: OpenAI's on every path, today. Anthropic's (ANTHROPIC_DIALECT,
 * over dialect/anthropic.ts) is ready for the rule that picks it (`isAnthropicRequest`).
 */
export function dialectOf(_req: IncomingMessage | undefined): ErrorDialect {
  return OPENAI_DIALECT;
}
